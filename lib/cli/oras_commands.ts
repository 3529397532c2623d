/**
 * The ORAS spellings that have no older kpm command (`oras manifest delete|push`, `oras blob delete|push`,
 * `oras repo ls`, `oras resolve`), so that `alias oras='kpm artifact'` works for the common commands. Only
 * words, help and options; the implementation is lib/cli/artifact_oras.ts, loaded when chosen.
 *
 * @module
 */

import { type Command, command } from "./command.ts";
import { PLATFORM_OPTION, withTargetOptions } from "./artifact_options.ts";

/** The options of `kpm artifact manifest delete` and `blob delete`. */
export const DELETE_OPTIONS = withTargetOptions({
  force: {
    type: "boolean",
    short: "f",
    description: "delete without asking (required without a terminal)",
  },
});

/** The options of `kpm artifact manifest push`. */
export const MANIFEST_PUSH_OPTIONS = withTargetOptions({
  "media-type": {
    type: "string",
    value: "TYPE",
    description: "its media type (default: its mediaType field)",
  },
});

/** The options of `kpm artifact blob push`. */
export const BLOB_PUSH_OPTIONS = withTargetOptions({
  "media-type": {
    type: "string",
    value: "TYPE",
    description: "the media type of the printed descriptor",
  },
});

/** The options of `kpm artifact repo ls`. */
export const REPO_LIST_OPTIONS = withTargetOptions({
  last: { type: "string", value: "REPO", description: "only repositories after this one" },
});

/** The options of `kpm artifact resolve`. */
export const RESOLVE_OPTIONS = withTargetOptions({
  "full-reference": { type: "boolean", short: "l", description: "print REPO@DIGEST" },
  platform: PLATFORM_OPTION,
});

/** The ORAS-only artifact commands. */
export const orasCommands: Command[] = [
  command({
    path: ["artifact", "manifest", "delete"],
    summary: "Delete a manifest (by tag or digest) from a registry",
    usage: "artifact manifest delete REF [-f]",
    options: DELETE_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.manifestDelete(ctx)),
  }),
  command({
    path: ["artifact", "manifest", "push"],
    summary: "Push a manifest file (or - for stdin) as it is",
    usage: "artifact manifest push REF[:TAG[,TAG…]] FILE|- [--media-type T]",
    options: MANIFEST_PUSH_OPTIONS,
    args: { min: 2, max: 2 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.manifestPush(ctx)),
  }),
  command({
    path: ["artifact", "blob", "delete"],
    summary: "Delete a blob from a registry",
    usage: "artifact blob delete REF@DIGEST [-f]",
    options: DELETE_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.blobDelete(ctx)),
  }),
  command({
    path: ["artifact", "blob", "push"],
    summary: "Push a file (or - for stdin) as a blob",
    usage: "artifact blob push REF FILE|- [--media-type T]",
    options: BLOB_PUSH_OPTIONS,
    args: { min: 2, max: 2 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.blobPush(ctx)),
  }),
  command({
    path: ["artifact", "repo", "ls"],
    aliases: [["artifact", "repo", "list"]],
    summary: "List the repositories of a registry (the catalog), under a namespace if given",
    usage: "artifact repo ls REGISTRY[/NAMESPACE] [--last REPO]",
    options: REPO_LIST_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.repoList(ctx)),
  }),
  command({
    path: ["artifact", "resolve"],
    summary: "Print the digest a tag points at",
    usage: "artifact resolve REF [--full-reference] [--platform OS/ARCH]",
    options: RESOLVE_OPTIONS,
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.resolve(ctx)),
  }),
];
