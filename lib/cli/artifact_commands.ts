/**
 * The `kpm artifact …` commands as the command table lists them (ORAS-style artifacts). Only their words, help
 * and options live here; each `run` loads its implementation (lib/cli/artifact.ts, artifact_admin.ts,
 * artifact_refs.ts, artifact_sign.ts) when the command is chosen.
 *
 * @module
 */

import type { Command } from "./command.ts";

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
  },
  args: { min: 1, max: Infinity },
  run: (ctx) => import("./artifact.ts").then((m) => m.push(ctx)),
};

/** `kpm artifact pull`. */
export const artifactPullCommand: Command = {
  path: ["artifact", "pull"],
  summary: "Pull an artifact's files and folders (registry or oci-layout:DIR)",
  usage: "artifact pull REF [-o DIR] [--media-type T]… [--allow-all] [--concurrency N]",
  options: {
    output: { type: "string", short: "o", value: "DIR", description: "output folder (default: current)" },
    "media-type": { type: "string", multiple: true, value: "TYPE", description: "only layers of this type" },
    "allow-all": { type: "boolean", description: "pull layers of every media type (ignores --media-type)" },
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
  summary: "List the tags of a repository or OCI layout (all pages)",
  usage: "artifact tags REF",
  args: { min: 1, max: 1 },
  run: (ctx) => import("./artifact_admin.ts").then((m) => m.tags(ctx)),
};

/** `kpm artifact manifest`. */
export const artifactManifestCommand: Command = {
  path: ["artifact", "manifest"],
  summary: "Print a manifest's raw bytes (or its descriptor)",
  usage: "artifact manifest REF [--descriptor]",
  options: { descriptor: { type: "boolean", description: "print the descriptor instead of the manifest" } },
  args: { min: 1, max: 1 },
  run: (ctx) => import("./artifact_admin.ts").then((m) => m.manifest(ctx)),
};

/** `kpm artifact blob`. */
export const artifactBlobCommand: Command = {
  path: ["artifact", "blob"],
  summary: "Save a blob to a file, verified",
  usage: "artifact blob REF@DIGEST -o FILE",
  options: { output: { type: "string", short: "o", value: "FILE", description: "where to save the blob" } },
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
  summary: "List the referrers of a manifest",
  usage: "artifact discover REF [--artifact-type T]",
  options: { "artifact-type": { type: "string", value: "TYPE", description: "only referrers of this type" } },
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
  ...artifactSignCommands,
];
