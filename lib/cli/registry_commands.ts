/**
 * The registry commands as the command table lists them: `kpm registry login|logout|serve|gc` and
 * `kpm chart-repo serve`. Only their words, help and options live here; each `run` loads its implementation
 * (lib/cli/registry.ts, registry_serve.ts, registry_gc.ts, chart_repo.ts) when the command is chosen, so that help, version and
 * the other commands do not load the registry client, the embedded registry or the chart-repo server.
 *
 * @module
 */

import { command } from "./command.ts";
import { TARGET_OPTIONS } from "./artifact_options.ts";

/** The address `kpm registry serve` listens on by default. */
export const DEFAULT_ADDR = "127.0.0.1:5000";
/** The storage folder of `kpm registry serve`, relative to the current folder, when `--root` is not given. */
export const DEFAULT_ROOT = "registry-data";
/**
 * Where `kpm chart-repo serve` reads credentials when `--docker-config` is not given: where Kubernetes mounts a
 * `kubernetes.io/dockerconfigjson` secret in the original's deployment.
 */
export const DEFAULT_DOCKER_CONFIG = "/etc/secret/dockerconfigjson";

/** `--root DIR` of `registry serve` and `registry gc`: the storage folder. */
const ROOT_OPTION = {
  type: "string",
  value: "DIR",
  description: `storage folder (default ./${DEFAULT_ROOT})`,
} as const;

/** The options of `kpm registry login`. */
export const LOGIN_OPTIONS = {
  username: { ...TARGET_OPTIONS.username, description: "user name (asked when missing)" },
  password: { ...TARGET_OPTIONS.password, description: "password (asked, hidden, when missing)" },
  "password-stdin": { type: "boolean", description: "read the password from stdin" },
} as const;

/** `kpm registry login`. */
export const loginCommand = command({
  path: ["registry", "login"],
  aliases: [["login"]],
  summary: "Log in to a registry and store the credentials",
  usage: "registry login [-u USER] [-p PASS | --password-stdin] REGISTRY",
  options: LOGIN_OPTIONS,
  args: { min: 1, max: 1 },
  run: (ctx) => import("./registry.ts").then((m) => m.login(ctx)),
});

/** `kpm registry logout`. */
export const logoutCommand = command({
  path: ["registry", "logout"],
  aliases: [["logout"]],
  summary: "Remove a registry's stored credentials",
  usage: "registry logout REGISTRY",
  args: { min: 1, max: 1 },
  run: (ctx) => import("./registry.ts").then((m) => m.logout(ctx)),
});

/** The options of `kpm registry serve`. */
export const SERVE_OPTIONS = {
  addr: {
    type: "string",
    value: "HOST:PORT",
    description: `address to listen on (default ${DEFAULT_ADDR})`,
  },
  root: ROOT_OPTION,
  user: {
    type: "string",
    multiple: true,
    value: "USER:PASS",
    description: "an account; with any account, requests must authenticate",
  },
  htpasswd: {
    type: "string",
    value: "FILE",
    description: "accounts from an htpasswd file (bcrypt, htpasswd -B)",
  },
  access: {
    type: "string",
    value: "FILE",
    description: "access rules (YAML): per user and anonymous, {repos: GLOB, actions: [pull, push, delete]}",
  },
  "tls-cert": {
    type: "string",
    value: "FILE",
    description: "serve HTTPS (and HTTP/2) with this PEM certificate",
  },
  "tls-key": { type: "string", value: "FILE", description: "the PEM private key of --tls-cert" },
  delete: { type: "boolean", description: "allow deletes of manifests, tags and blobs (off by default)" },
  proxy: {
    type: "string",
    value: "URL",
    description: "pull-through cache of this registry (read-only; e.g. https://ghcr.io)",
  },
  "proxy-user": {
    type: "string",
    value: "USER:PASS",
    description: "credentials for --proxy (default: the stored or docker credentials of its host)",
  },
  "proxy-ttl": {
    type: "string",
    value: "D",
    description: "re-check a cached tag against --proxy after this long (default 5m)",
  },
  "upload-ttl": {
    type: "string",
    value: "D",
    description: "expire untouched uploads after this long (default 1h)",
  },
  "drain-timeout": {
    type: "string",
    value: "D",
    description: "on SIGTERM, wait this long for requests in flight (default 30s)",
  },
  "log-json": { type: "boolean", description: "write an access log of JSON lines on stderr" },
  config: {
    type: "string",
    value: "FILE",
    description: "read these options from a YAML file (keys as the option names); flags win",
  },
} as const;

/** `kpm registry serve`. */
export const registryServeCommand = command({
  path: ["registry", "serve"],
  summary: "Run kpm's embedded OCI registry (distribution API v1.1) on a folder",
  usage:
    "registry serve [--addr HOST:PORT] [--root DIR] [--user USER:PASS]… [--htpasswd FILE] [--access FILE] " +
    "[--tls-cert F --tls-key F] [--delete] [--proxy URL] [--upload-ttl D] [--config FILE]",
  options: SERVE_OPTIONS,
  args: { min: 0, max: 0 },
  run: (ctx) => import("./registry_serve.ts").then((m) => m.serve(ctx)),
});

/** The options of `kpm registry gc`. */
export const GC_OPTIONS = {
  root: ROOT_OPTION,
  "dry-run": { type: "boolean", description: "report what would be freed, remove nothing" },
} as const;

/** `kpm registry gc`. */
export const registryGcCommand = command({
  path: ["registry", "gc"],
  summary: "Free the space of deleted content in an embedded registry's folder (the server must be stopped)",
  usage: "registry gc --root DIR [--dry-run]",
  options: GC_OPTIONS,
  args: { min: 0, max: 0 },
  run: (ctx) => import("./registry_gc.ts").then((m) => m.gc(ctx)),
});

/** The options of `kpm chart-repo serve`. */
export const CHART_REPO_OPTIONS = {
  port: { type: "string", value: "N", description: "port to listen on (default 8080)" },
  addr: { type: "string", value: "HOST", description: "address to listen on (default 0.0.0.0)" },
  storage: { type: "string", value: "registry", description: "storage backend; only registry" },
  "storage-registry-repo": {
    type: "string",
    value: "HOST[:PORT]",
    description: "the registry holding the charts (default localhost:5000)",
  },
  "storage-registry-scheme": {
    type: "string",
    value: "SCHEME",
    description: "HTTP or HTTPS, either case (default: try https, then http, and remember)",
  },
  "docker-config": {
    type: "string",
    value: "FILE",
    description:
      `registry credentials, docker config.json format (default ${DEFAULT_DOCKER_CONFIG} when present)`,
  },
  refresh: {
    type: "string",
    value: "SECONDS",
    description: "re-list tags when older than this (default 30)",
  },
} as const;

/** `kpm chart-repo serve`. */
export const chartRepoServeCommand = command({
  path: ["chart-repo", "serve"],
  summary: "Serve the Helm charts of an OCI registry as a chart repository (index.yaml)",
  usage: "chart-repo serve --port N --storage registry --storage-registry-repo HOST[:PORT] " +
    "[--storage-registry-scheme http|https] [--docker-config FILE] [--addr HOST] [--refresh SECONDS]",
  options: CHART_REPO_OPTIONS,
  args: { min: 0, max: 0 },
  run: (ctx) => import("./chart_repo.ts").then((m) => m.serve(ctx)),
});
