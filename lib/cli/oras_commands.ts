/**
 * The ORAS spellings that have no older kpm command (`oras manifest delete|push`, `oras blob delete|push`,
 * `oras repo ls`, `oras resolve`), so that `alias oras='kpm artifact'` works for the common commands. Only
 * words, help and options; the implementation is lib/cli/artifact_oras.ts, loaded when chosen.
 *
 * @module
 */

import type { Command } from "./command.ts";

const FORCE = {
  type: "boolean",
  short: "f",
  description: "delete without asking (required without a terminal)",
} as const;

/** The `--platform OS/ARCH[/VARIANT]` option spec. */
export const PLATFORM_OPTION = {
  type: "string",
  value: "OS/ARCH",
  description: "the manifest of an image index for this platform",
} as const;

/** The ORAS-only artifact commands. */
export const orasCommands: Command[] = [
  {
    path: ["artifact", "manifest", "delete"],
    summary: "Delete a manifest (by tag or digest) from a registry",
    usage: "artifact manifest delete REF [-f]",
    options: { force: FORCE },
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.manifestDelete(ctx)),
  },
  {
    path: ["artifact", "manifest", "push"],
    summary: "Push a manifest file (or - for stdin) as it is",
    usage: "artifact manifest push REF[:TAG[,TAG…]] FILE|- [--media-type T]",
    options: {
      "media-type": {
        type: "string",
        value: "TYPE",
        description: "its media type (default: its mediaType field)",
      },
    },
    args: { min: 2, max: 2 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.manifestPush(ctx)),
  },
  {
    path: ["artifact", "blob", "delete"],
    summary: "Delete a blob from a registry",
    usage: "artifact blob delete REF@DIGEST [-f]",
    options: { force: FORCE },
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.blobDelete(ctx)),
  },
  {
    path: ["artifact", "blob", "push"],
    summary: "Push a file (or - for stdin) as a blob",
    usage: "artifact blob push REF FILE|- [--media-type T]",
    options: {
      "media-type": {
        type: "string",
        value: "TYPE",
        description: "the media type of the printed descriptor",
      },
    },
    args: { min: 2, max: 2 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.blobPush(ctx)),
  },
  {
    path: ["artifact", "repo", "ls"],
    aliases: [["artifact", "repo", "list"]],
    summary: "List the repositories of a registry (the catalog), under a namespace if given",
    usage: "artifact repo ls REGISTRY[/NAMESPACE] [--last REPO]",
    options: { last: { type: "string", value: "REPO", description: "only repositories after this one" } },
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.repoList(ctx)),
  },
  {
    path: ["artifact", "resolve"],
    summary: "Print the digest a tag points at",
    usage: "artifact resolve REF [--full-reference] [--platform OS/ARCH]",
    options: {
      "full-reference": { type: "boolean", short: "l", description: "print REPO@DIGEST" },
      platform: PLATFORM_OPTION,
    },
    args: { min: 1, max: 1 },
    run: (ctx) => import("./artifact_oras.ts").then((m) => m.resolve(ctx)),
  },
];
