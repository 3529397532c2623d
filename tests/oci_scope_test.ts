/** Token scopes: building and cleaning, so that equal access shares one cached token. */

import { cleanScopes, repositoryScope } from "../lib/oci/auth/scope.ts";
import { assertEquals } from "./assert.ts";

Deno.test("repositoryScope sorts and dedupes actions", async (t) => {
  const cases: { actions: ("pull" | "push" | "delete" | "*")[]; expected: string }[] = [
    { actions: ["pull"], expected: "repository:a/b:pull" },
    { actions: ["push", "pull"], expected: "repository:a/b:pull,push" },
    { actions: ["pull", "pull", "push"], expected: "repository:a/b:pull,push" },
    { actions: ["delete", "push", "pull"], expected: "repository:a/b:delete,pull,push" },
  ];
  for (const c of cases) {
    await t.step(c.actions.join(","), () => assertEquals(repositoryScope("a/b", c.actions), c.expected));
  }
});

Deno.test("cleanScopes merges, dedupes and sorts scopes", async (t) => {
  const cases: { name: string; scopes: string[]; expected: string[] }[] = [
    { name: "empty", scopes: [], expected: [] },
    { name: "empty strings dropped", scopes: ["", " "], expected: [] },
    { name: "one scope unchanged", scopes: ["repository:a:pull"], expected: ["repository:a:pull"] },
    {
      name: "actions of one repository merged",
      scopes: ["repository:a:push", "repository:a:pull"],
      expected: ["repository:a:pull,push"],
    },
    {
      name: "duplicates removed",
      scopes: ["repository:a:pull", "repository:a:pull", "repository:a:pull,pull"],
      expected: ["repository:a:pull"],
    },
    {
      name: "actions sorted",
      scopes: ["repository:a:push,pull,delete"],
      expected: ["repository:a:delete,pull,push"],
    },
    {
      name: "* absorbs other actions",
      scopes: ["repository:a:pull", "repository:a:*", "repository:a:push"],
      expected: ["repository:a:*"],
    },
    {
      name: "resources sorted",
      scopes: ["repository:z:pull", "repository:a:push", "registry:catalog:*"],
      expected: ["registry:catalog:*", "repository:a:push", "repository:z:pull"],
    },
    {
      name: "space-separated scopes split (as a challenge's scope= gives them)",
      scopes: ["repository:a:pull repository:b:push", "repository:a:push"],
      expected: ["repository:a:pull,push", "repository:b:push"],
    },
    {
      name: "same set in another order gives the same key",
      scopes: ["repository:b:pull", "repository:a:push,pull"],
      expected: ["repository:a:pull,push", "repository:b:pull"],
    },
    {
      name: "registry with a port in the resource name keeps the last colon as separator",
      scopes: ["repository:host:5000/a:pull"],
      expected: ["repository:host:5000/a:pull"],
    },
    {
      name: "a resource without actions is dropped",
      scopes: ["repository:a:", "repository:b:pull"],
      expected: ["repository:b:pull"],
    },
    {
      name: "a malformed scope without colons is kept as is",
      scopes: ["weird", "repository:a:pull"],
      expected: ["repository:a:pull", "weird"],
    },
    {
      name: "empty actions between commas ignored",
      scopes: ["repository:a:pull,,push,"],
      expected: ["repository:a:pull,push"],
    },
  ];
  for (const c of cases) await t.step(c.name, () => assertEquals(cleanScopes(c.scopes), c.expected));
});
