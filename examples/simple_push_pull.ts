/**
 * The ORAS Go library's README example, translated: push "Hello World!\n" from memory as `hello.txt` with a
 * custom media type, then pull it back to disk (into the current folder) allowing only that media type.
 * Credentials come from the docker config, as the Go example's docker resolver reads them.
 *
 * ```sh
 * deno run -A examples/simple_push_pull.ts [REF]          # REF defaults to localhost:5000/oras:test
 * deno run -A --no-config https://HOST/PATH/examples/simple_push_pull.ts 127.0.0.1:5000/oras:test
 * ```
 *
 * @module
 */

import { Client, dockerCredentials, pull, push } from "../mod.ts";

const ref = Deno.args[0] ?? "localhost:5000/oras:test";
const fileName = "hello.txt";
const fileContent = new TextEncoder().encode("Hello World!\n");
const customMediaType = "my.custom.media.type";

const client = new Client({ credentials: dockerCredentials() });

// Push file(s) with a custom media type to the registry, from memory
console.log(`Pushing ${fileName} to ${ref}...`);
const pushed = await push(ref, [{ name: fileName, content: fileContent, mediaType: customMediaType }], {
  client,
});
console.log(`Pushed to ${ref} with digest ${pushed.manifest.digest}`);

// Pull file(s) from the registry and save them to disk
console.log(`Pulling from ${ref} and saving to ${fileName}...`);
const pulled = await pull(ref, ".", { client, allowedMediaTypes: [customMediaType] });
console.log(`Pulled from ${ref} with digest ${pulled.manifest.digest}`);
console.log(`Try running 'cat ${fileName}'`);
