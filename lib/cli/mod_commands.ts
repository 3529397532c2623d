/**
 * The package commands as the command table lists them: `kpm mod …`, `kpm config` and `kpm run`. Only their
 * words, help and options live here; each `run` loads its implementation (lib/cli/mod.ts, mod_pull.ts,
 * kpm_config.ts, run.ts) when the command is chosen.
 *
 * @module
 */

import { type Command, command } from "./command.ts";

/** `--no-verify`: skip the trust policy's signature checks (loudly). */
const noVerify = {
  type: "boolean",
  description: "do NOT check signatures against the trust policy (prints a warning)",
} as const;

const oci = { type: "string", value: "URL", description: "an oci:// URL (instead of SOURCE)" } as const;

/** `--commit` and `--branch`, which go with `--git`. */
const GIT_REFS = {
  commit: { type: "string", value: "SHA", description: "the git commit (with --git)" },
  branch: { type: "string", value: "NAME", description: "the git branch (with --git)" },
} as const;

/** The options of `kpm mod pull`. */
export const MOD_PULL_OPTIONS = {
  tag: { type: "string", value: "TAG", description: "the tag (default: the newest semver tag)" },
  oci,
  "oci-layout": {
    type: "boolean",
    description: "SOURCE is an OCI layout folder (or a .tar of one): DIR[:TAG]",
  },
  "no-verify": noVerify,
  git: { type: "string", value: "URL", description: "a git repository (instead of SOURCE)" },
  ...GIT_REFS,
} as const;

/** `kpm mod pull`. */
export const pullCommand = command({
  path: ["mod", "pull"],
  aliases: [["pull"]],
  summary: "Download a package (into DEST/oci/REGISTRY/REPO/TAG; from oci-layout:DIR into DEST/NAME_VERSION)",
  usage:
    "mod pull SOURCE [DEST] [--tag T] | --oci URL [DEST] | --git URL [DEST] [--tag T|--commit C|--branch B]",
  options: MOD_PULL_OPTIONS,
  args: { min: 0, max: 2 },
  run: (ctx) => import("./mod_pull.ts").then((m) => m.pull(ctx)),
});

/** `kpm config`. */
export const configCommand = command({
  path: ["config"],
  summary: "Print kpm's settings and where each value comes from",
  usage: "config [set KEY VALUE | unset KEY]",
  args: { min: 0, max: 0 },
  run: (ctx) => import("./kpm_config.ts").then((m) => m.config(ctx)),
});

const tag = { type: "string", value: "TAG", description: "the tag (default: the version)" } as const;

/** The KCL CLI's `--vendor`. */
const VENDOR = {
  type: "boolean",
  description: "copy the dependencies into vendor/ first (vendor mode)",
} as const;

/** The KCL CLI's `--no_sum_check`. */
const NO_SUM_CHECK = {
  type: "boolean",
  description: "neither check checksums against kcl.mod.lock nor rewrite it",
} as const;

const concurrency = {
  type: "string",
  value: "N",
  description: "packages downloaded at once (default 8, or $KPM_CONCURRENCY)",
} as const;

/** The options of `kpm mod init`. */
export const MOD_INIT_OPTIONS = {
  version: { type: "string", value: "V", description: "the package version (default 0.0.1)" },
} as const;

/** The options of `kpm mod add`. */
export const MOD_ADD_OPTIONS = {
  tag,
  oci,
  git: { type: "string", value: "URL", description: "a git repository to add" },
  ...GIT_REFS,
  path: { type: "string", value: "DIR", description: "a local package folder to add" },
  rename: { type: "string", value: "NAME", description: "the name to import it as" },
  no_sum_check: NO_SUM_CHECK,
  concurrency,
  "no-verify": noVerify,
} as const;

/** The options of `kpm mod push`. */
export const MOD_PUSH_OPTIONS = {
  tag,
  "oci-layout": { type: "boolean", description: "the argument is an OCI layout folder: DIR[:TAG]" },
  force: { type: "boolean", description: "overwrite an existing tag" },
  sign: { type: "string", value: "KEY", description: "sign it with this cosign private key" },
  tar_path: {
    type: "string",
    value: "FILE",
    description: "push this package archive (.tar/.tgz) instead",
  },
  vendor: VENDOR,
} as const;

/** The options of `kpm mod update` (and of the re-lock of `mod remove`). */
export const MOD_UPDATE_OPTIONS = { concurrency, "no-verify": noVerify, no_sum_check: NO_SUM_CHECK } as const;

/** The options of `kpm mod metadata`. */
export const MOD_METADATA_OPTIONS = {
  vendor: VENDOR,
  // accepted for the KCL tool chain (its language server runs `kcl mod metadata --update`)
  update: { type: "boolean", description: "download missing packages (kpm always does)" },
} as const;

/** The options of `kpm mod pkg`. */
export const MOD_PKG_OPTIONS = {
  target: { type: "string", value: "FILE", description: "the archive to write" },
  vendor: VENDOR,
} as const;

/** The package commands. */
export const modCommands: Command[] = [
  command({
    path: ["mod", "init"],
    aliases: [["init"]],
    summary: "Create a KCL package (kcl.mod, kcl.mod.lock, main.k)",
    usage: "mod init [NAME] [--version V]",
    options: MOD_INIT_OPTIONS,
    args: { min: 0, max: 1 },
    run: (ctx) => import("./mod.ts").then((m) => m.init(ctx)),
  }),
  command({
    path: ["mod", "add"],
    aliases: [["add"]],
    summary: "Add a dependency and lock the whole graph",
    usage:
      "mod add SOURCE [--tag T] | --oci URL [--tag T] | --git URL [--tag T | --commit C | --branch B] | --path DIR",
    options: MOD_ADD_OPTIONS,
    args: { min: 0, max: 1 },
    run: (ctx) => import("./mod.ts").then((m) => m.add(ctx)),
  }),
  command({
    path: ["mod", "push"],
    aliases: [["push"]],
    summary: "Push the package in the current folder to an OCI registry or layout (oci-layout:DIR)",
    usage:
      "mod push [OCI_URL | oci-layout:DIR[:T] | --oci-layout DIR] [--tag T] [--force] [--sign cosign.key] [--tar_path FILE] [--vendor]",
    options: MOD_PUSH_OPTIONS,
    args: { min: 0, max: 1 },
    run: (ctx) => import("./mod.ts").then((m) => m.push(ctx)),
  }),
  pullCommand,
  command({
    path: ["mod", "update"],
    aliases: [["update"]],
    summary: "Re-resolve the dependencies and rewrite kcl.mod.lock",
    usage: "mod update [--concurrency N] [--no-verify] [--no_sum_check]",
    options: MOD_UPDATE_OPTIONS,
    args: { min: 0, max: 0 },
    run: (ctx) => import("./mod.ts").then((m) => m.update(ctx)),
  }),
  command({
    path: ["mod", "graph"],
    aliases: [["graph"]],
    summary: "Print the dependency graph as `a@v b@v` lines",
    usage: "mod graph",
    args: { min: 0, max: 0 },
    run: (ctx) => import("./mod.ts").then((m) => m.graph(ctx)),
  }),
  command({
    path: ["mod", "metadata"],
    aliases: [["metadata"]],
    summary: "Print the resolved packages as JSON",
    usage: "mod metadata [--update] [--vendor]",
    options: MOD_METADATA_OPTIONS,
    args: { min: 0, max: 0 },
    run: (ctx) => import("./mod.ts").then((m) => m.metadata(ctx)),
  }),
  command({
    path: ["mod", "pkg"],
    aliases: [["pkg"]],
    summary: "Write the package as a tar (or .tgz) file",
    usage: "mod pkg --target FILE [--vendor]",
    options: MOD_PKG_OPTIONS,
    args: { min: 0, max: 0 },
    run: (ctx) => import("./mod.ts").then((m) => m.pkg(ctx)),
  }),
  command({
    path: ["mod", "remove"],
    summary: "Remove a dependency and re-lock",
    usage: "mod remove NAME",
    args: { min: 1, max: 1 },
    run: (ctx) => import("./mod.ts").then((m) => m.remove(ctx)),
  }),
  configCommand,
  command({
    path: ["config", "set"],
    summary: "Persist a default in kpm.json (DefaultOciRegistry, DefaultOciRepo, DefaultOciPlainHttp)",
    usage: "config set KEY VALUE",
    args: { min: 2, max: 2 },
    run: (ctx) => import("./kpm_config.ts").then((m) => m.configSet(ctx)),
  }),
  command({
    path: ["config", "unset"],
    summary: "Remove a default from kpm.json (back to the built-in one)",
    usage: "config unset KEY",
    args: { min: 1, max: 1 },
    run: (ctx) => import("./kpm_config.ts").then((m) => m.configUnset(ctx)),
  }),
];

/** The options of `kpm run`. */
export const RUN_OPTIONS = {
  tag: { type: "string", value: "TAG", description: "the tag of an OCI source" },
  oci,
  concurrency,
  "no-verify": noVerify,
} as const;

/** `kpm run`. */
export const runCommand = command({
  path: ["run"],
  summary: "Resolve a package and run the KCL compiler on it",
  usage: "run [SOURCE | --oci URL] [--tag T] [-- ARGS for the KCL compiler]",
  options: RUN_OPTIONS,
  args: { min: 0, max: 1 },
  run: (ctx) => import("./run.ts").then((m) => m.run(ctx)),
});
