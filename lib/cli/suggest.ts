/**
 * "Did you mean …?" for mistyped command words and options: the closest known spelling by edit distance.
 *
 * @module
 */

/** The Levenshtein distance between two strings. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate closest to `word` (at most 2 edits away, or one that starts with it), if any.
 *
 * @example closest("pul", ["push", "pull"]) // "pull"
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    const score = candidate.startsWith(word) && word.length >= 2 ? 1 : distance(word, candidate);
    if (
      score <= Math.min(2, Math.max(1, Math.floor(candidate.length / 3))) && (!best || score < best.score)
    ) {
      best = { candidate, score };
    }
  }
  return best?.candidate;
}

/** `; did you mean "X"?` for the closest candidate, or an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closest(word, candidates);
  return match === undefined ? "" : `; did you mean "${match}"?`;
}
