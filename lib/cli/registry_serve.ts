/**
 * `kpm registry serve`: runs kpm's embedded OCI registry in the foreground until SIGINT or SIGTERM.
 *
 * Storage defaults to `./registry-data` in the current folder (like distribution's `/var/lib/registry`, a
 * plain folder you can see, back up and delete); `--root` chooses another. SIGTERM and SIGINT drain the
 * requests in flight (bounded by `--drain-timeout`) before the command returns.
 *
 * @module
 */

import { resolve } from "node:path";
import { isLoopback } from "../oci/reference.ts";
import { readAccessRules } from "../server/access_rules.ts";
import { ProxyCache } from "../server/proxy_cache.ts";
import { readHtpasswd, type RegistryUser } from "../server/registry_auth.ts";
import { type RegistryOptions, startRegistry } from "../server/registry.ts";
import { type CommandContext, type Output, output, UsageError } from "./command.ts";
import { parseDuration } from "./duration.ts";
import { DEFAULT_ADDR, DEFAULT_ROOT, SERVE_OPTIONS } from "./registry_commands.ts";
import { clientSettings, registryClient } from "./registry_context.ts";
import { allowsHttp } from "../config/plain_http.ts";
import { mergeConfigFile } from "./registry_serve_config.ts";
import { serveUntilStopped } from "./interrupt.ts";

/** What `kpm registry serve` receives. */
type ServeContext = CommandContext<typeof SERVE_OPTIONS>;

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces).
 *
 * @throws {UsageError} on anything else
 */
export function parseAddr(value: string): { hostname: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`Invalid address "${value}": expected HOST:PORT`);
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

function parseUser(value: string, option = "--user"): RegistryUser {
  const colon = value.indexOf(":");
  if (colon <= 0 || colon === value.length - 1) {
    throw new UsageError(`Invalid ${option} "${value.slice(0, Math.max(colon, 0))}:…": expected USER:PASS`);
  }
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/**
 * The pull-through cache `--proxy URL` asks for, with `--proxy-user` or the stored credentials of its host.
 *
 * @throws {UsageError} on a URL that is not `https://HOST[:PORT]` (or `http://` for loopback or --plain-http)
 */
function proxyOption(ctx: ServeContext, tagTtlMs: number | undefined): RegistryOptions["proxy"] {
  const value = ctx.options.proxy;
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`Invalid --proxy "${value}": expected https://HOST[:PORT]`);
  }
  const plain = url.protocol === "http:";
  if ((!plain && url.protocol !== "https:") || url.pathname.replace(/\/+$/, "") !== "" || url.search) {
    throw new UsageError(`Invalid --proxy "${value}": expected https://HOST[:PORT]`);
  }
  const settings = clientSettings(ctx);
  if (plain && !allowsHttp(settings, url.host)) {
    throw new UsageError(`--proxy "${value}" is plain HTTP: add --plain-http to allow it`);
  }
  const user = ctx.options["proxy-user"];
  const credential = user === undefined ? undefined : parseUser(user, "--proxy-user");
  const client = registryClient(ctx, settings, { credential });
  const log = (line: string) => ctx.writeError(`${line}\n`);
  return (storage) => new ProxyCache(storage, { registry: url.host, client, tagTtlMs, log });
}

/** Reads a PEM file for --tls-cert / --tls-key. */
async function readPem(path: string, option: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read ${option} "${path}": ${(error as Error).message}`);
  }
}

/** The registry options the command line (and --config) ask for. */
async function registryOptions(ctx: ServeContext): Promise<RegistryOptions> {
  const option = ctx.options;
  const path = (name: "root" | "htpasswd" | "access" | "tls-cert" | "tls-key") => {
    const value = option[name];
    return value === undefined ? undefined : resolve(ctx.cwd, value);
  };
  const { hostname, port } = parseAddr(option.addr ?? DEFAULT_ADDR);
  const [cert, key] = [path("tls-cert"), path("tls-key")];
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  const access = path("access");
  const duration = (name: "upload-ttl" | "drain-timeout" | "proxy-ttl") => {
    const value = option[name];
    return value === undefined ? undefined : parseDuration(value, `--${name}`);
  };
  return {
    hostname,
    port,
    root: path("root") ?? resolve(ctx.cwd, DEFAULT_ROOT),
    users: option.user.map((user) => parseUser(user)),
    htpasswd: path("htpasswd"),
    rules: access === undefined ? undefined : await readAccessRules(access),
    tls: cert && key
      ? { cert: await readPem(cert, "--tls-cert"), key: await readPem(key, "--tls-key") }
      : undefined,
    delete: option.delete,
    uploadTtlMs: duration("upload-ttl"),
    drainMs: duration("drain-timeout"),
    proxy: proxyOption(ctx, duration("proxy-ttl")),
    logJson: option["log-json"],
    log: ctx.global.verbose || option["log-json"] ? (line) => ctx.writeError(`${line}\n`) : undefined,
  };
}

/** Runs `kpm registry serve`. */
export async function serve(ctx: ServeContext): Promise<Output> {
  const configFile = ctx.options.config;
  if (configFile !== undefined) {
    const merged = await mergeConfigFile(resolve(ctx.cwd, configFile), {
      options: SERVE_OPTIONS,
      values: ctx.options,
    });
    ctx = { ...ctx, options: { ...ctx.options, ...merged } };
  }
  const options = await registryOptions(ctx);
  const open = (options.users ?? []).length === 0 && !options.htpasswd && !options.rules;
  const address = options.hostname!.includes(":") ? `[${options.hostname}]` : options.hostname!;
  if (!isLoopback(address) && open && !options.proxy) {
    ctx.writeError(
      `warning: serving "${address}:${options.port}" without authentication; anyone who can reach it may push${
        options.delete ? " and delete" : ""
      } (use --user, --htpasswd or --access)\n`,
    );
  }
  if (options.rules) {
    const accounts = new Set((options.users ?? []).map((user) => user.username));
    if (options.htpasswd) {
      for (const name of (await readHtpasswd(options.htpasswd)).keys()) accounts.add(name);
    }
    for (const name of options.rules.users.keys()) {
      if (!accounts.has(name)) {
        ctx.writeError(`warning: the access file names "${name}", who has no account\n`);
      }
    }
  }
  const registry = await startRegistry(options).catch((error) => {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    throw new Error(`Cannot listen on "${address}:${options.port}": address already in use`, {
      cause: error,
    });
  });
  const wildcard = options.hostname === "0.0.0.0" || options.hostname === "::";
  ctx.log(`Storage: ${options.root}${open ? " (no authentication)" : ""}`);
  const listening = { url: registry.url, address: `${address}:${registry.port}`, root: options.root };
  return output(listening, (v) => [
    wildcard
      ? `Listening on ${v.address} (every interface; ${v.url} from this machine)`
      : `Listening on ${v.url}`,
  ], serveUntilStopped(ctx, registry).then(() => registry.close()));
}
