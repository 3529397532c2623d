/**
 * A throw-away PKI made with openssl for the TLS tests: a CA, a server certificate for 127.0.0.1 and
 * localhost, and a client certificate, all signed by the CA (PEM files in a temp folder).
 *
 * @module
 */

import { join } from "node:path";

/** The files of the test PKI. */
export interface TestPki {
  dir: string;
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** `openssl req` arguments for a new, unencrypted P-256 key. */
const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Signs a new EC key's certificate with the CA; `usage` is serverAuth or clientAuth. */
async function issue(dir: string, name: string, usage: string, altNames?: string): Promise<void> {
  const ext = [`extendedKeyUsage=${usage}`, ...(altNames ? [`subjectAltName=${altNames}`] : [])];
  await Deno.writeTextFile(join(dir, `${name}.ext`), ext.join("\n") + "\n");
  await openssl(dir, [
    "req",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=kpm-test-${name}`,
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    `${name}.pem`,
    "-extfile",
    `${name}.ext`,
  ]);
}

/**
 * Makes the CA, the server and the client certificates.
 *
 * @param options `serverNames`: the server certificate's subjectAltName (default `IP:127.0.0.1,DNS:localhost`)
 */
export async function makeTestPki(options: { serverNames?: string } = {}): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "kpm-pki-" });
  await openssl(dir, [
    "req",
    "-x509",
    ...NEW_EC_KEY,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=kpm-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await issue(dir, "server", "serverAuth", options.serverNames ?? "IP:127.0.0.1,DNS:localhost");
  await issue(dir, "client", "clientAuth");
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    serverCert: join(dir, "server.pem"),
    serverKey: join(dir, "server.key"),
    clientCert: join(dir, "client.pem"),
    clientKey: join(dir, "client.key"),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}
