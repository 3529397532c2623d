/**
 * The `kpm artifact …` commands as the command table lists them (ORAS-style artifacts). Only their words, help
 * and options live here; each `run` loads its implementation (lib/cli/artifact.ts, artifact_admin.ts,
 * artifact_refs.ts, artifact_sign.ts) when the command is chosen.
 *
 * @module
 */

import type { Command, OptionSpec } from "./command.ts";
import { orasCommands, PLATFORM_OPTION } from "./oras_commands.ts";

/** The `--concurrency` option spec. */
export const CONCURRENCY_OPTION = {
  type: "string",
  value: "N",
  description: "parallel transfers (default 3)",
} as const;

/** The repeatable `--annotation K=V` option spec. */
const ANNOTATION_OPTION = {
  type: "string",
  short: "a",
  multiple: true,
  value: "K=V",
  description: "manifest annotation",
} as const;

/** `kpm artifact push`. */
export const artifactPushCommand: Command = {
  path: ["artifact", "push"],
  summary: "Push files and folders as an OCI artifact (registry or oci-layout:DIR)",
  usage:
    "artifact push REF[:TAG[,TAG…]] FILE|DIR[:TYPE]… [--artifact-type T] [--annotation K=V]… [--annotation-file F] [--config FILE[:TYPE]]",
  options: {
    "artifact-type": { type: "string", value: "TYPE", description: "the manifest's artifactType" },
    annotation: ANNOTATION_OPTION,
    "annotation-file": {
      type: "string",
      value: "FILE",
      description: 'oras annotation JSON: {"$manifest": {...}, "$config": {...}, "FILE": {...}}',
    },
    config: { type: "string", value: "FILE[:TYPE]", description: "config blob (default: the empty config)" },
    concurrency: CONCURRENCY_OPTION,
    "export-manifest": { type: "string", value: "FILE", description: "also write the pushed manifest here" },
    "disable-path-validation": {
      type: "boolean",
      description: "allow absolute file paths and paths with .. (titled as given)",
    },
  },
  args: { min: 1, max: Infinity },
  run: (ctx) => import("./artifact.ts").then((m) => m.push(ctx)),
};

/** `kpm artifact pull`. */
export const artifactPullCommand: Command = {
  path: ["artifact", "pull"],
  summary: "Pull an artifact's files and folders (registry or oci-layout:DIR)",
  usage:
    "artifact pull REF [-o DIR] [-t TYPE]… [-a] [--include-subject] [--platform OS/ARCH] [--concurrency N]",
  options: {
    output: { type: "string", short: "o", value: "DIR", description: "output folder (default: current)" },
    "media-type": {
      type: "string",
      short: "t",
      multiple: true,
      value: "TYPE",
      description: "only layers of this type (none matching is an error)",
    },
    "allow-all": {
      type: "boolean",
      short: "a",
      description: "pull layers of every media type (ignores --media-type)",
    },
    "include-subject": { type: "boolean", description: "also pull the manifest it refers to, recursively" },
    platform: PLATFORM_OPTION,
    "keep-old-files": { type: "boolean", short: "k", description: "fail instead of overwriting files" },
    "allow-path-traversal": { type: "boolean", description: "allow titles outside the output folder" },
    concurrency: CONCURRENCY_OPTION,
  },
  args: { min: 1, max: 1 },
  run: (ctx) => import("./artifact.ts").then((m) => m.pull(ctx)),
};

/** `kpm artifact copy`. */
export const artifactCopyCommand: Command = {
  path: ["artifact", "copy"],
  aliases: [["artifact", "cp"]],
  summary: "Copy an artifact (and with -r its referrers) between registries and OCI layouts",
  usage: "artifact copy SRC DST [-r] [--concurrency N]",
  options: {
    recursive: { type: "boolean", short: "r", description: "copy the referrers too (signatures, SBOMs…)" },
    "from-oci-layout": { type: "boolean", description: "SRC is an OCI layout folder (or .tar)" },
    "to-oci-layout": { type: "boolean", description: "DST is an OCI layout folder" },
    concurrency: CONCURRENCY_OPTION,
  },
  args: { min: 2, max: 2 },
  run: (ctx) => import("./artifact_admin.ts").then((m) => m.copy(ctx)),
};

/** `kpm artifact tag`. */
export const artifactTagCommand: Command = {
  path: ["artifact", "tag"],
  summary: "Give a manifest more tags",
  usage: "artifact tag REF TAG…",
  args: { min: 2, max: Infinity },
  run: (ctx) => import("./artifact_admin.ts").then((m) => m.tag(ctx)),
};

/** `kpm artifact tags`. */
export const artifactTagsCommand: Command = {
  path: ["artifact", "tags"],
  aliases: [["artifact", "repo", "tags"]],
  summary: "List the tags of a repository or OCI layout (all pages)",
  usage: "artifact tags REF [--last TAG]",
  options: { last: { type: "string", value: "TAG", description: "only tags after this one" } },
  args: { min: 1, max: 1 },
  run: (ctx) => import("./artifact_admin.ts").then((m) => m.tags(ctx)),
};

/** `kpm artifact manifest`. */
export const artifactManifestCommand: Command = {
  path: ["artifact", "manifest"],
  aliases: [["artifact", "manifest", "fetch"]],
  summary: "Print a manifest's raw bytes (or its descriptor)",
  usage: "artifact manifest [fetch] REF [--descriptor] [-o FILE|-] [--pretty] [--platform OS/ARCH]",
  options: {
    descriptor: { type: "boolean", description: "print the descriptor instead of the manifest" },
    output: { type: "string", short: "o", value: "FILE", description: "write it to FILE (- for stdout)" },
    pretty: { type: "boolean", description: "indent the JSON" },
    platform: PLATFORM_OPTION,
  },
  args: { min: 1, max: 1 },
  run: (ctx) => import("./artifact_admin.ts").then((m) => m.manifest(ctx)),
};

/** `kpm artifact blob`. */
export const artifactBlobCommand: Command = {
  path: ["artifact", "blob"],
  aliases: [["artifact", "blob", "fetch"]],
  summary: "Save a blob to a file (or stdout), verified",
  usage: "artifact blob [fetch] REF@DIGEST -o FILE|- | --descriptor",
  options: {
    output: {
      type: "string",
      short: "o",
      value: "FILE",
      description: "where to save the blob (- for stdout)",
    },
    descriptor: { type: "boolean", description: "print the blob's descriptor instead" },
  },
  args: { min: 1, max: 1 },
  run: (ctx) => import("./artifact_admin.ts").then((m) => m.blob(ctx)),
};

/** `kpm artifact attach`. */
export const artifactAttachCommand: Command = {
  path: ["artifact", "attach"],
  summary: "Attach files to an existing manifest as a referrer (subject)",
  usage: "artifact attach --artifact-type T REF FILE[:TYPE]… [--annotation K=V]… [--annotation-file F]",
  options: {
    "artifact-type": { type: "string", value: "TYPE", description: "the referrer's artifactType (required)" },
    annotation: ANNOTATION_OPTION,
    "annotation-file": { type: "string", value: "FILE", description: "oras annotation JSON" },
    concurrency: CONCURRENCY_OPTION,
  },
  args: { min: 1, max: Infinity },
  run: (ctx) => import("./artifact_refs.ts").then((m) => m.attach(ctx)),
};

/** `kpm artifact discover`. */
export const artifactDiscoverCommand: Command = {
  path: ["artifact", "discover"],
  summary: "List the referrers of a manifest, and theirs, as a tree",
  usage: "artifact discover REF [--artifact-type T] [--depth N]",
  options: {
    "artifact-type": { type: "string", value: "TYPE", description: "only referrers of this type" },
    depth: { type: "string", value: "N", description: "levels of referrers to list (default: all)" },
  },
  args: { min: 1, max: 1 },
  run: (ctx) => import("./artifact_refs.ts").then((m) => m.discover(ctx)),
};

/** `kpm artifact sign|verify|keygen` (cosign v2 compatible, key-based). */
export const artifactSignCommands: Command[] = [
  {
    path: ["artifact", "sign"],
    summary: "Sign a manifest with a cosign key (the sha256-<hex>.sig tag and an OCI 1.1 referrer)",
    usage:
      "artifact sign REF --key cosign.key   (password: $KPM_SIGN_PASSWORD, $COSIGN_PASSWORD or a prompt)",
    options: { key: { type: "string", value: "FILE", description: "cosign private key (encrypted PEM)" } },
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_sign.ts").then((m) => m.sign(ctx)),
  },
  {
    path: ["artifact", "verify"],
    summary: "Check a manifest's cosign signature against public keys (no transparency log)",
    usage: "artifact verify REF --key cosign.pub…",
    options: {
      key: {
        type: "string",
        multiple: true,
        value: "FILE",
        description: "public key (PEM); repeat for any-of",
      },
    },
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_sign.ts").then((m) => m.verify(ctx)),
  },
  {
    path: ["artifact", "keygen"],
    summary: "Write an ECDSA P-256 key pair as cosign generate-key-pair does (PREFIX.key, PREFIX.pub)",
    usage:
      "artifact keygen [--output-key-prefix PREFIX]   (password: $KPM_SIGN_PASSWORD, $COSIGN_PASSWORD or a prompt)",
    options: {
      "output-key-prefix": {
        type: "string",
        value: "PREFIX",
        description: "file name prefix (default cosign)",
      },
    },
    args: { min: 0, max: 0 },
    run: (ctx) => import("./artifact_sign.ts").then((m) => m.keygen(ctx)),
  },
];

/**
 * What every command that reaches a registry or a layout takes, as oras has it: credentials for this command
 * only (not stored), and `--oci-layout` / `--oci-layout-path` instead of the `oci-layout:` prefix.
 */
const TARGET_OPTIONS: Record<string, OptionSpec> = {
  username: { type: "string", short: "u", value: "USER", description: "registry user (this command only)" },
  password: {
    type: "string",
    short: "p",
    value: "PASS",
    description: "registry password (warns: see --password-stdin)",
  },
  "password-stdin": { type: "boolean", description: "read the registry password from stdin" },
  "identity-token": {
    type: "string",
    value: "TOKEN",
    description: "an OAuth2 refresh token instead of a password",
  },
  "oci-layout": {
    type: "boolean",
    description: "REF is an OCI layout folder (or a .tar of one): DIR[:TAG|@DIGEST]",
  },
  "oci-layout-path": {
    type: "string",
    value: "DIR",
    description: "REF is a tag or digest in the OCI layout DIR",
  },
};

/** Every `kpm artifact …` command, in help order. */
export const artifactCommands: Command[] = [
  artifactPushCommand,
  artifactPullCommand,
  artifactCopyCommand,
  artifactTagCommand,
  artifactTagsCommand,
  artifactManifestCommand,
  artifactBlobCommand,
  artifactAttachCommand,
  artifactDiscoverCommand,
  ...orasCommands,
  ...artifactSignCommands,
].map((command) =>
  command.path[1] === "keygen" ? command : { ...command, options: { ...command.options, ...TARGET_OPTIONS } }
);
