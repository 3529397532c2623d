/**
 * Token scopes (`repository:name:pull,push`): building and cleaning them so that equal sets share one cached
 * token.
 *
 * @module
 */

/** Actions a repository scope can ask for. */
export type Action = "pull" | "push" | "delete" | "*";

/**
 * Builds a repository scope.
 *
 * @example repositoryScope("kcl-lang/k8s", ["pull", "push"]) // "repository:kcl-lang/k8s:pull,push"
 */
export function repositoryScope(repository: string, actions: readonly Action[]): string {
  return `repository:${repository}:${[...new Set(actions)].sort().join(",")}`;
}

/**
 * Cleans a list of scopes: drops empty and malformed ones, merges the actions of the same resource, sorts and
 * dedupes actions (`*` absorbs all others), and sorts the result, so that the same access gives the same key.
 *
 * @param scopes scopes, each possibly holding several space-separated scopes
 * @returns the cleaned, sorted scopes
 * @example cleanScopes(["repository:a:push", "repository:a:pull"]) // ["repository:a:pull,push"]
 */
export function cleanScopes(scopes: readonly string[]): string[] {
  const resources = new Map<string, Set<string>>();
  const others = new Set<string>();
  for (const scope of scopes.flatMap((s) => s.split(" ")).filter((s) => s !== "")) {
    const first = scope.indexOf(":");
    const last = scope.lastIndexOf(":");
    if (first < 0 || first === last) {
      others.add(scope);
      continue;
    }
    const resource = scope.slice(0, last);
    const actions = scope.slice(last + 1).split(",").filter((a) => a !== "");
    const set = resources.get(resource) ?? new Set<string>();
    actions.forEach((a) => set.add(a));
    resources.set(resource, set);
  }
  const cleaned = [...others];
  for (const [resource, actions] of resources) {
    if (actions.size === 0) continue;
    const list = actions.has("*") ? ["*"] : [...actions].sort();
    cleaned.push(`${resource}:${list.join(",")}`);
  }
  return cleaned.sort();
}
