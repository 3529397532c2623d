/**
 * kcl-lib (PyPI's KCL runtime) made to trust a throw-away CA, so the `mod add` row of bench/limits_bench.ts can
 * time its download from a loopback registry.
 *
 * kcl-lib 0.13's native core is Rust: `update_dependencies` pulls with oci-client's default client, which
 * speaks https only, over rustls with the webpki-roots certificates compiled into the library. It reads no
 * `SSL_CERT_FILE` / `SSL_CERT_DIR`, no `OCI_REG_PLAIN_HTTP` and no kpm.json `DefaultOciPlainHttp` (none of
 * these names is in the library). So the bench borrows one of those roots, {@link ROOT_TEMPLATE}: its CA has
 * that root's name and a new key of the same kind, and a copy of the kcl_lib package in the bench's temp
 * folder, first on `PYTHONPATH`, has that root's public key replaced by the new one (same length) in its
 * native library. Every certificate check still runs; nothing outside the temp folder changes.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { join } from "node:path";
import { run, type ServerTls } from "./registry_bench.ts";

/**
 * The root whose name the bench's CA takes: ISRG Root X2 is in webpki-roots without name constraints, and
 * its key is P-384, so a new P-384 key has a public key of the same length to put in its place.
 */
const ROOT_TEMPLATE = "/etc/ssl/certs/ISRG_Root_X2.pem";

/** The curve of {@link ROOT_TEMPLATE}'s key. */
const ROOT_CURVE = "secp384r1";

async function openssl(...args: string[]): Promise<string> {
  return (await run(["openssl", ...args])).stdout;
}

/**
 * Makes, in `dir`, a CA named as {@link ROOT_TEMPLATE} with a new key (the template re-signed with it), and a
 * server certificate for 127.0.0.1 and localhost signed by that CA.
 *
 * @throws {Error} when openssl fails or the template root is not in the system's certificates
 */
export async function borrowedRootTls(dir: string): Promise<ServerTls> {
  await Deno.mkdir(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
  await Deno.writeTextFile(file("server.ext"), ext);
  await openssl("ecparam", "-name", ROOT_CURVE, "-genkey", "-noout", "-out", file("ca.key"));
  await openssl(
    "x509",
    "-in",
    ROOT_TEMPLATE,
    "-signkey",
    file("ca.key"),
    "-days",
    "2",
    "-out",
    file("ca.pem"),
  );
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(
    "req",
    ...newKey,
    "-keyout",
    file("server.key"),
    "-out",
    file("server.csr"),
    "-subj",
    "/CN=localhost",
  );
  await openssl(
    "x509",
    ...[
      "-req",
      "-in",
      file("server.csr"),
      "-CA",
      file("ca.pem"),
      "-CAkey",
      file("ca.key"),
      "-CAcreateserial",
    ],
    ...["-sha384", "-days", "2", "-extfile", file("server.ext"), "-out", file("server.pem")],
  );
  return { certFile: file("server.pem"), keyFile: file("server.key"), caFile: file("ca.pem") };
}

/** The content (after the outer SEQUENCE's tag and length) of a certificate's SubjectPublicKeyInfo. */
async function publicKeyContent(pem: string): Promise<Uint8Array> {
  const key = await openssl("x509", "-in", pem, "-pubkey", "-noout");
  const der = Buffer.from(key.replace(/-----[^-]+-----|\s/g, ""), "base64");
  return der.subarray(der[1]! < 0x80 ? 2 : 2 + (der[1]! & 0x7f));
}

/**
 * Copies the kcl_lib package of `python` into `dir` with {@link ROOT_TEMPLATE}'s public key replaced by
 * `caFile`'s in its native library.
 *
 * @returns the folder to put first on `PYTHONPATH`
 * @throws {Error} when the library does not hold the template's key exactly once
 */
export async function kclLibTrusting(python: string, caFile: string, dir: string): Promise<string> {
  const [from, to] = [await publicKeyContent(ROOT_TEMPLATE), await publicKeyContent(caFile)];
  const where = "import kcl_lib, os; print(os.path.dirname(kcl_lib.__file__))";
  const installed = (await run([python, "-c", where])).stdout.trim();
  await Deno.mkdir(dir, { recursive: true });
  await run(["cp", "-r", installed, dir]);
  const copy = join(dir, "kcl_lib");
  const native = [...Deno.readDirSync(copy)].find((e) =>
    e.name.startsWith("_kcl_lib") && e.name.endsWith(".so")
  );
  if (!native) throw new Error(`no native library (_kcl_lib*.so) in ${installed}`);
  const library = Buffer.from(await Deno.readFile(join(copy, native.name)));
  const at = library.indexOf(from);
  if (at < 0 || library.indexOf(from, at + 1) >= 0 || from.length !== to.length) {
    throw new Error(`${native.name} does not hold the public key of ${ROOT_TEMPLATE} exactly once`);
  }
  library.set(to, at);
  await Deno.writeFile(join(copy, native.name), library);
  return dir;
}
