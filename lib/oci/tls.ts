/**
 * Client TLS settings for registries: extra trusted CAs and a client certificate, through a custom
 * `Deno.createHttpClient` bound into the fetch every request (and token request) goes through.
 *
 * @module
 */

/** PEM files for the TLS connections to registries. */
export interface TlsFiles {
  /** CA certificates trusted in addition to the system's. */
  caFile?: string;
  /** A client certificate (chain) for registries that ask for one. */
  certFile?: string;
  /** The client certificate's private key. */
  keyFile?: string;
}

/** Thrown when a TLS file is missing, unreadable or not usable PEM. */
export class TlsConfigError extends Error {
  override name = "TlsConfigError";
}

/**
 * A fetch that uses the given CA and client certificate; `fetch` itself when no file is given.
 *
 * @param fetch the fetch to wrap (its `client` init option is set)
 * @param files the PEM files (`certFile` and `keyFile` go together)
 * @throws {TlsConfigError} naming the file and the problem
 * @example const tlsFetch = fetchWithTls(fetch, { caFile: "ca.pem" });
 */
export function fetchWithTls(fetch: typeof globalThis.fetch, files: TlsFiles): typeof globalThis.fetch {
  if (!files.caFile && !files.certFile && !files.keyFile) return fetch;
  if (!files.certFile !== !files.keyFile) {
    throw new TlsConfigError(
      `A client certificate needs both --cert-file and --key-file; only ${
        files.certFile ? `--cert-file "${files.certFile}"` : `--key-file "${files.keyFile}"`
      } was given`,
    );
  }
  const options: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {};
  if (files.caFile) options.caCerts = [readPem(files.caFile, "--ca-file", "CERTIFICATE")];
  if (files.certFile && files.keyFile) {
    options.cert = readPem(files.certFile, "--cert-file", "CERTIFICATE");
    options.key = readPem(files.keyFile, "--key-file", "PRIVATE KEY");
  }
  let client: Deno.HttpClient;
  try {
    client = Deno.createHttpClient(options as Deno.CreateHttpClientOptions & Deno.TlsCertifiedKeyPem);
  } catch (error) {
    throw new TlsConfigError(`Cannot use the TLS files given: ${(error as Error).message}`);
  }
  return (input, init) => fetch(input, { ...init, client });
}

/** Reads a PEM file and checks that it holds a block of the expected kind. */
function readPem(path: string, option: string, kind: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new TlsConfigError(`Cannot read ${option} "${path}": ${(error as Error).message}`);
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text)) {
    throw new TlsConfigError(`${option} "${path}" holds no PEM ${kind.toLowerCase()}`);
  }
  return text;
}
