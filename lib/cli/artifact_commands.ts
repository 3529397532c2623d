/**
 * The `kpm artifact …` commands as the command table lists them (ORAS-style artifacts). Only their words, help
 * and options live here; each `run` loads its implementation (lib/cli/artifact.ts, artifact_admin.ts,
 * artifact_refs.ts, artifact_sign.ts) when the command is chosen.
 *
 * @module
 */

import { type Command, command } from "./command.ts";
import {
  ANNOTATION_OPTION,
  CONCURRENCY_OPTION,
  PLATFORM_OPTION,
  withTargetOptions,
} from "./artifact_options.ts";
import { orasCommands } from "./oras_commands.ts";

/** The options of `kpm artifact push`. */
export const ARTIFACT_PUSH_OPTIONS = withTargetOptions({
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
});

/** The options of `kpm artifact pull`. */
export const ARTIFACT_PULL_OPTIONS = withTargetOptions({
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
});

/** The options of `kpm artifact copy`. */
export const ARTIFACT_COPY_OPTIONS = withTargetOptions({
  recursive: { type: "boolean", short: "r", description: "copy the referrers too (signatures, SBOMs…)" },
  "from-oci-layout": { type: "boolean", description: "SRC is an OCI layout folder (or .tar)" },
  "to-oci-layout": { type: "boolean", description: "DST is an OCI layout folder" },
  concurrency: CONCURRENCY_OPTION,
});

/** The options of `kpm artifact tag` (and of every command with no options of its own). */
export const ARTIFACT_TAG_OPTIONS = withTargetOptions({});

/** The options of `kpm artifact tags`. */
export const ARTIFACT_TAGS_OPTIONS = withTargetOptions({
  last: { type: "string", value: "TAG", description: "only tags after this one" },
});

/** The options of `kpm artifact manifest [fetch]`. */
export const ARTIFACT_MANIFEST_OPTIONS = withTargetOptions({
  descriptor: { type: "boolean", description: "print the descriptor instead of the manifest" },
  output: { type: "string", short: "o", value: "FILE", description: "write it to FILE (- for stdout)" },
  pretty: { type: "boolean", description: "indent the JSON" },
  platform: PLATFORM_OPTION,
});

/** The options of `kpm artifact blob [fetch]`. */
export const ARTIFACT_BLOB_OPTIONS = withTargetOptions({
  output: {
    type: "string",
    short: "o",
    value: "FILE",
    description: "where to save the blob (- for stdout)",
  },
  descriptor: { type: "boolean", description: "print the blob's descriptor instead" },
});

/** The options of `kpm artifact attach`. */
export const ARTIFACT_ATTACH_OPTIONS = withTargetOptions({
  "artifact-type": { type: "string", value: "TYPE", description: "the referrer's artifactType (required)" },
  annotation: ANNOTATION_OPTION,
  "annotation-file": { type: "string", value: "FILE", description: "oras annotation JSON" },
  concurrency: CONCURRENCY_OPTION,
});

/** The options of `kpm artifact discover`. */
export const ARTIFACT_DISCOVER_OPTIONS = withTargetOptions({
  "artifact-type": { type: "string", value: "TYPE", description: "only referrers of this type" },
  depth: { type: "string", value: "N", description: "levels of referrers to list (default: all)" },
});

/** The options of `kpm artifact sign`. */
export const ARTIFACT_SIGN_OPTIONS = withTargetOptions({
  key: { type: "string", value: "FILE", description: "cosign private key (encrypted PEM)" },
});

/** The options of `kpm artifact verify`. */
export const ARTIFACT_VERIFY_OPTIONS = withTargetOptions({
  key: {
    type: "string",
    multiple: true,
    value: "FILE",
    description: "public key (PEM); repeat for any-of",
  },
});

/** The options of `kpm artifact keygen` (it reaches no registry). */
export const ARTIFACT_KEYGEN_OPTIONS = {
  "output-key-prefix": {
    type: "string",
    value: "PREFIX",
    description: "file name prefix (default cosign)",
  },
} as const;

/** `kpm artifact push|pull|copy|tag|tags|manifest|blob|attach|discover`. */
const transferCommands: Command[] = [
  command({
    path: ["artifact", "push"],
    summary: "Push files and folders as an OCI artifact (registry or oci-layout:DIR)",
    usage:
      "artifact push REF[:TAG[,TAG…]] FILE|DIR[:TYPE]… [--artifact-type T] [--annotation K=V]… [--annotation-file F] [--config FILE[:TYPE]]",
    options: ARTIFACT_PUSH_OPTIONS,
    args: { min: 1, max: Infinity },
    run: (ctx) => import("./artifact.ts").then((m) => m.push(ctx)),
  }),
  command({
    path: ["artifact", "pull"],
    summary: "Pull an artifact's files and folders (registry or oci-layout:DIR)",
    usage:
      "artifact pull REF [-o DIR] [-t TYPE]… [-a] [--include-subject] [--platform OS/ARCH] [--concurrency N]",
    options: ARTIFACT_PULL_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact.ts").then((m) => m.pull(ctx)),
  }),
  command({
    path: ["artifact", "copy"],
    aliases: [["artifact", "cp"]],
    summary: "Copy an artifact (and with -r its referrers) between registries and OCI layouts",
    usage: "artifact copy SRC DST [-r] [--concurrency N]",
    options: ARTIFACT_COPY_OPTIONS,
    args: { min: 2, max: 2 },
    run: (ctx) => import("./artifact_admin.ts").then((m) => m.copy(ctx)),
  }),
  command({
    path: ["artifact", "tag"],
    summary: "Give a manifest more tags",
    usage: "artifact tag REF TAG…",
    options: ARTIFACT_TAG_OPTIONS,
    args: { min: 2, max: Infinity },
    run: (ctx) => import("./artifact_admin.ts").then((m) => m.tag(ctx)),
  }),
  command({
    path: ["artifact", "tags"],
    aliases: [["artifact", "repo", "tags"]],
    summary: "List the tags of a repository or OCI layout (all pages)",
    usage: "artifact tags REF [--last TAG]",
    options: ARTIFACT_TAGS_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_admin.ts").then((m) => m.tags(ctx)),
  }),
  command({
    path: ["artifact", "manifest"],
    aliases: [["artifact", "manifest", "fetch"]],
    summary: "Print a manifest's raw bytes (or its descriptor)",
    usage: "artifact manifest [fetch] REF [--descriptor] [-o FILE|-] [--pretty] [--platform OS/ARCH]",
    options: ARTIFACT_MANIFEST_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_admin.ts").then((m) => m.manifest(ctx)),
  }),
  command({
    path: ["artifact", "blob"],
    aliases: [["artifact", "blob", "fetch"]],
    summary: "Save a blob to a file (or stdout), verified",
    usage: "artifact blob [fetch] REF@DIGEST -o FILE|- | --descriptor",
    options: ARTIFACT_BLOB_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_admin.ts").then((m) => m.blob(ctx)),
  }),
  command({
    path: ["artifact", "attach"],
    summary: "Attach files to an existing manifest as a referrer (subject)",
    usage: "artifact attach --artifact-type T REF FILE[:TYPE]… [--annotation K=V]… [--annotation-file F]",
    options: ARTIFACT_ATTACH_OPTIONS,
    args: { min: 1, max: Infinity },
    run: (ctx) => import("./artifact_refs.ts").then((m) => m.attach(ctx)),
  }),
  command({
    path: ["artifact", "discover"],
    summary: "List the referrers of a manifest, and theirs, as a tree",
    usage: "artifact discover REF [--artifact-type T] [--depth N]",
    options: ARTIFACT_DISCOVER_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_refs.ts").then((m) => m.discover(ctx)),
  }),
];

/** `kpm artifact sign|verify|keygen` (cosign v2 compatible, key-based). */
const signCommands: Command[] = [
  command({
    path: ["artifact", "sign"],
    summary: "Sign a manifest with a cosign key (the sha256-<hex>.sig tag and an OCI 1.1 referrer)",
    usage:
      "artifact sign REF --key cosign.key   (password: $KPM_SIGN_PASSWORD, $COSIGN_PASSWORD or a prompt)",
    options: ARTIFACT_SIGN_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_sign.ts").then((m) => m.sign(ctx)),
  }),
  command({
    path: ["artifact", "verify"],
    summary: "Check a manifest's cosign signature against public keys (no transparency log)",
    usage: "artifact verify REF --key cosign.pub…",
    options: ARTIFACT_VERIFY_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_sign.ts").then((m) => m.verify(ctx)),
  }),
  command({
    path: ["artifact", "keygen"],
    summary: "Write an ECDSA P-256 key pair as cosign generate-key-pair does (PREFIX.key, PREFIX.pub)",
    usage:
      "artifact keygen [--output-key-prefix PREFIX]   (password: $KPM_SIGN_PASSWORD, $COSIGN_PASSWORD or a prompt)",
    options: ARTIFACT_KEYGEN_OPTIONS,
    args: { min: 0, max: 0 },
    run: (ctx) => import("./artifact_sign.ts").then((m) => m.keygen(ctx)),
  }),
];

/** Every `kpm artifact …` command, in help order. */
export const artifactCommands: Command[] = [...transferCommands, ...orasCommands, ...signCommands];
