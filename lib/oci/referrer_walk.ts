/**
 * The bounds of a walk along `subject` links (referrers of referrers, the subject of a subject): each manifest
 * once, at most MAX_REFERRER_DEPTH levels from where the walk starts and MAX_REFERRER_NODES manifests in all.
 * Digests make cycles impossible among honest manifests, but a registry answers a referrers listing however
 * it likes, and can make up a new referrer for every manifest asked about, for ever.
 *
 * @module
 */

/**
 * The most levels of subjects or referrers one command follows from where it starts. Real chains are short (a
 * signature of an SBOM of an image is 2 levels down); this leaves room for any honest graph.
 */
export const MAX_REFERRER_DEPTH = 16;

/**
 * The most manifests one walk visits (each costs a request or more). It bounds a graph that is wide rather
 * than deep; a thousand signatures and attestations of each of ten images fit.
 */
export const MAX_REFERRER_NODES = 10_000;

/** A walk went past one of its bounds. */
export class ReferrerWalkError extends Error {
  /** The error's class name. */
  override name = "ReferrerWalkError";
}

/** One bounded walk over subjects or referrers. */
export class ReferrerWalk {
  #what: string;
  #seen = new Set<string>();
  #nodes = 0;

  /** @param what what the walk does, for the error: e.g. `discover the referrers of "host/repo@sha256:…"` */
  constructor(what: string) {
    this.#what = what;
  }

  /**
   * Counts a manifest found `level` levels from the start (0 for the start itself).
   *
   * @returns whether it is the first visit of `digest` (false: already visited, do not go on from it)
   * @throws {ReferrerWalkError} when it is deeper than MAX_REFERRER_DEPTH or more than MAX_REFERRER_NODES
   */
  visit(digest: string, level: number): boolean {
    if (level > MAX_REFERRER_DEPTH) {
      this.#fail(`it goes deeper than ${MAX_REFERRER_DEPTH} levels, the most kpm follows`);
    }
    if (++this.#nodes > MAX_REFERRER_NODES) {
      this.#fail(`it has more than ${MAX_REFERRER_NODES} manifests, the most kpm visits`);
    }
    if (this.#seen.has(digest)) return false;
    this.#seen.add(digest);
    return true;
  }

  #fail(why: string): never {
    throw new ReferrerWalkError(`Cannot ${this.#what}: ${why}`);
  }
}
