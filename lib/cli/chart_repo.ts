/**
 * `kpm chart-repo serve`: a Helm chart repository over the Helm charts of an OCI registry, with the launch
 * arguments of the original oci-chartrepo.
 *
 * @module
 */

import { RegistryClient } from "../oci/client.ts";
import { type CredentialLookup, CredentialStore } from "../oci/credentials.ts";
import { type ChartRepoScheme, startChartRepo } from "../server/chartrepo.ts";
import { serveUntilStopped } from "./interrupt.ts";
import { type CommandContext, type Output, output, UsageError } from "./command.ts";
import { clientSettings, credentialStore, registryFetch, settingFlags } from "./registry_context.ts";
import { plainHttpSetting } from "../config/client_settings.ts";
import { usesPlainHttp } from "../config/plain_http.ts";
import { type CHART_REPO_OPTIONS, DEFAULT_DOCKER_CONFIG } from "./registry_commands.ts";

/** What `kpm chart-repo serve` receives. */
type ChartRepoContext = CommandContext<typeof CHART_REPO_OPTIONS>;

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** `--docker-config FILE`, else the mounted secret when present, else kpm's usual credential store. */
async function credentials(ctx: ChartRepoContext): Promise<{ lookup: CredentialLookup; from: string }> {
  const given = ctx.options["docker-config"];
  if (given !== undefined && !(await exists(given))) {
    throw new UsageError(`Docker config "${given}" does not exist`);
  }
  const path = given ?? (await exists(DEFAULT_DOCKER_CONFIG) ? DEFAULT_DOCKER_CONFIG : undefined);
  const store = path
    ? new CredentialStore({ path, timeoutMs: ctx.global.timeoutMs })
    : credentialStore(ctx, clientSettings(ctx));
  return { lookup: (registry) => store.get(registry), from: store.path };
}

function port(value: string | undefined): number {
  const port = Number(value ?? "8080");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`Invalid port "${value}": expected 0-65535`);
  }
  return port;
}

/**
 * `--storage-registry-scheme` (the original's values are HTTP and HTTPS); without it, http when plain HTTP is
 * asked for (the one rule of lib/config/plain_http.ts), else empty (https, http for loopback).
 *
 * @throws {UsageError} for another scheme
 */
function schemeOption(ctx: ChartRepoContext, registry: string): ChartRepoScheme {
  const given = ctx.options["storage-registry-scheme"] ?? "";
  const scheme = given.toLowerCase();
  if (scheme !== "" && scheme !== "http" && scheme !== "https") {
    throw new UsageError(
      `Invalid --storage-registry-scheme "${given}": expected HTTP or HTTPS (either case), or empty to detect`,
    );
  }
  if (scheme !== "") return scheme;
  return usesPlainHttp({ plainHttp: plainHttpSetting(ctx.env, settingFlags(ctx)) }, registry) ? "http" : "";
}

/** Runs `kpm chart-repo serve`. */
export async function serve(ctx: ChartRepoContext): Promise<Output> {
  const storage = ctx.options.storage ?? "registry";
  if (storage !== "registry") {
    throw new UsageError(`Unsupported storage "${storage}": only "registry" is supported`);
  }
  const registry = ctx.options["storage-registry-repo"] ?? "localhost:5000";
  const scheme = schemeOption(ctx, registry);
  const refresh = Number(ctx.options.refresh ?? "30");
  if (!Number.isFinite(refresh) || refresh < 0) throw new UsageError(`Invalid refresh interval "${refresh}"`);
  const { lookup, from } = await credentials(ctx);
  if (ctx.global.verbose) ctx.log(`Reading registry credentials from ${from}`);
  const verbose = ctx.global.verbose ? (line: string) => ctx.writeError(`${line}\n`) : undefined;
  const fetch = registryFetch(ctx);
  const server = await startChartRepo({
    hostname: ctx.options.addr ?? "0.0.0.0",
    port: port(ctx.options.port),
    registry,
    scheme,
    client: (scheme) =>
      new RegistryClient({
        fetch,
        credentials: lookup,
        plainHttp: scheme === "http",
        httpsOnly: scheme === "https",
        timeoutMs: ctx.global.timeoutMs,
        log: verbose,
      }),
    refreshSeconds: refresh,
    log: (line) => ctx.log(line),
  });
  return output({ url: server.url }, (v) => [`Listening on ${v.url}`], serveUntilStopped(ctx, server));
}
