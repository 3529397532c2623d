/**
 * A Docker token-auth issuer for interop tests against the CNCF `distribution` registry (shared/DESIGN.md §3):
 * `Deno.serve` on 127.0.0.1:0, Basic or anonymous GET (`?service=&scope=…`) and the OAuth2 POST form
 * (`grant_type=password` and `refresh_token`), RS256 JWTs signed with WebCrypto whose header carries
 * `x5c: [base64 DER of a self-signed certificate]`; that certificate (made with `openssl req -x509` for a key
 * pair generated per run) is the registry's `rootcertbundle`.
 *
 * Policy: a known user gets every action they ask for on every repository; anonymous callers get `pull` on the
 * public repositories only; a wrong password is answered 401.
 *
 * @module
 */

import { join } from "node:path";
import { runPeer } from "./peers.ts";

/** A user of the issuer. */
export interface IssuerUser {
  username: string;
  password: string;
}

/** Options of startTokenIssuer. */
export interface TokenIssuerOptions {
  /** A folder to write the key and certificate into (the caller removes it). */
  dir: string;
  users: IssuerUser[];
  /** Repositories anonymous callers may pull. */
  publicRepositories?: string[];
  /** The `iss` claim, and the registry's `issuer` setting. Default "kpm-test-issuer". */
  issuer?: string;
  /** The `aud` claim, and the registry's `service` setting. Default "kpm-test-registry". */
  service?: string;
  /** Token lifetime in seconds. Default 300. */
  expiresIn?: number;
}

/** One request the issuer answered. */
export interface IssuedRequest {
  method: "GET" | "POST";
  /** "basic", "anonymous", "password" or "refresh_token". */
  grant: string;
  /** The subject, "" for anonymous. */
  subject: string;
  scopes: string[];
  status: number;
}

/** A running token issuer. */
export interface TokenIssuer {
  /** `http://127.0.0.1:PORT/token`. */
  realm: string;
  issuer: string;
  service: string;
  /** PEM file of the signing certificate (the registry's rootcertbundle). */
  certFile: string;
  /** Every request answered so far, oldest first. */
  requests: IssuedRequest[];
  close(): Promise<void>;
}

type Access = { type: string; name: string; actions: string[] };

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array | string): string {
  const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  let binary = "";
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function pem(label: string, der: Uint8Array): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function derOfPem(text: string): string {
  return text.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
}

/** Parses `type:name:actions` (the name may itself hold colons, e.g. a host:port). */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first < 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(",").filter((a) => a !== ""),
  };
}

/**
 * Generates a key pair and a self-signed certificate, then serves tokens on 127.0.0.1 (any free port).
 *
 * @param options users, public repositories, issuer and service names, a folder for the key files
 * @returns the realm, the certificate file and a log of the requests
 * @throws {Error} when openssl is missing or fails
 */
export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const issuer = options.issuer ?? "kpm-test-issuer";
  const service = options.service ?? "kpm-test-registry";
  const expiresIn = options.expiresIn ?? 300;
  const publicRepositories = new Set(options.publicRepositories ?? []);
  const users = new Map(options.users.map((u) => [u.username, u.password]));

  const keys = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const keyFile = join(options.dir, "issuer-key.pem");
  const certFile = join(options.dir, "issuer-cert.pem");
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  await Deno.writeTextFile(keyFile, pem("PRIVATE KEY", pkcs8), { mode: 0o600 });
  await runPeer("openssl", [
    "req",
    "-x509",
    "-new",
    "-key",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${issuer}`,
    "-sha256",
  ]);
  const certDer = derOfPem(await Deno.readTextFile(certFile));

  const refreshTokens = new Map<string, string>();
  const requests: IssuedRequest[] = [];

  function grant(subject: string, scopes: string[]): Access[] {
    const granted: Access[] = [];
    for (const scope of scopes) {
      const access = parseScope(scope);
      if (!access) continue;
      const allowed = subject !== ""
        ? access.actions
        : access.type === "repository" && publicRepositories.has(access.name)
        ? access.actions.filter((a) => a === "pull")
        : [];
      granted.push({ ...access, actions: allowed });
    }
    return granted;
  }

  async function sign(subject: string, access: Access[]): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "RS256", x5c: [certDer] };
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service,
      exp: now + expiresIn,
      nbf: now - 5,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", keys.privateKey, encoder.encode(input));
    return `${input}.${base64url(new Uint8Array(signature))}`;
  }

  function refuse(status: number, error: string, log: IssuedRequest): Response {
    log.status = status;
    requests.push(log);
    return Response.json({ error, error_description: error }, {
      status,
      headers: status === 401 ? { "www-authenticate": 'Basic realm="kpm-test-issuer"' } : {},
    });
  }

  async function answer(log: IssuedRequest, refreshToken?: string): Promise<Response> {
    const token = await sign(log.subject, grant(log.subject, log.scopes));
    log.status = 200;
    requests.push(log);
    return Response.json({
      token,
      access_token: token,
      expires_in: expiresIn,
      issued_at: new Date().toISOString(),
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    });
  }

  function newRefreshToken(subject: string): string {
    const token = base64url(crypto.getRandomValues(new Uint8Array(24)));
    refreshTokens.set(token, subject);
    return token;
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== "/token") return new Response("not found", { status: 404 });
    if (request.method === "GET") {
      const scopes = url.searchParams.getAll("scope");
      const header = request.headers.get("authorization") ?? "";
      if (!header) return answer({ method: "GET", grant: "anonymous", subject: "", scopes, status: 0 });
      const log: IssuedRequest = { method: "GET", grant: "basic", subject: "", scopes, status: 0 };
      const match = /^Basic\s+(.+)$/i.exec(header);
      if (!match) return refuse(401, "unsupported authorization", log);
      const decoded = new TextDecoder().decode(Uint8Array.from(atob(match[1]!), (c) => c.charCodeAt(0)));
      const colon = decoded.indexOf(":");
      const username = decoded.slice(0, colon);
      if (colon < 0 || users.get(username) !== decoded.slice(colon + 1)) {
        return refuse(401, "invalid username or password", log);
      }
      log.subject = username;
      const offline = url.searchParams.get("offline_token") === "true";
      return answer(log, offline ? newRefreshToken(username) : undefined);
    }
    if (request.method === "POST") {
      const form = new URLSearchParams(await request.text());
      const scopes = (form.get("scope") ?? "").split(" ").filter((s) => s !== "");
      const grantType = form.get("grant_type") ?? "";
      const log: IssuedRequest = { method: "POST", grant: grantType, subject: "", scopes, status: 0 };
      if (form.get("service") !== service) return refuse(400, "unknown service", log);
      if (grantType === "password") {
        const username = form.get("username") ?? "";
        if (users.get(username) !== form.get("password")) {
          return refuse(401, "invalid username or password", log);
        }
        log.subject = username;
        return answer(log, newRefreshToken(username));
      }
      if (grantType === "refresh_token") {
        const subject = refreshTokens.get(form.get("refresh_token") ?? "");
        if (subject === undefined) return refuse(401, "invalid refresh token", log);
        log.subject = subject;
        return answer(log, form.get("refresh_token") ?? undefined);
      }
      return refuse(400, "unsupported grant_type", log);
    }
    return new Response("method not allowed", { status: 405 });
  });

  return {
    realm: `http://127.0.0.1:${server.addr.port}/token`,
    issuer,
    service,
    certFile,
    requests,
    close: () => server.shutdown(),
  };
}
