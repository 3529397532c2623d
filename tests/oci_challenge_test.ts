/** WWW-Authenticate parsing: several challenges in one value, quoting, escapes and malformed input. */

import { type Challenge, parseChallenges } from "../lib/oci/auth/challenge.ts";
import { assertEquals } from "./assert.ts";

const cases: { name: string; header: string; expected: Challenge[] }[] = [
  { name: "empty value", header: "", expected: [] },
  {
    name: "Basic with a realm",
    header: 'Basic realm="Registry"',
    expected: [{ scheme: "basic", params: { realm: "Registry" } }],
  },
  {
    name: "Bearer with realm, service and scope",
    header:
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"',
    expected: [{
      scheme: "bearer",
      params: {
        realm: "https://auth.example.com/token",
        service: "registry.example.com",
        scope: "repository:a/b:pull",
      },
    }],
  },
  {
    name: "scheme and keys are lowercased, values keep their case",
    header: 'BEARER Realm="https://A.example/Token", SERVICE=Reg',
    expected: [{ scheme: "bearer", params: { realm: "https://A.example/Token", service: "Reg" } }],
  },
  {
    name: "quoted commas stay inside the value",
    header: 'Bearer realm="https://auth.io/token",scope="repository:a:pull,push"',
    expected: [{
      scheme: "bearer",
      params: { realm: "https://auth.io/token", scope: "repository:a:pull,push" },
    }],
  },
  {
    name: "escaped quotes and backslashes",
    header: 'Basic realm="say \\"hi\\" \\\\ there"',
    expected: [{ scheme: "basic", params: { realm: 'say "hi" \\ there' } }],
  },
  {
    name: "Basic and Bearer joined by fetch with a comma",
    header: 'Basic realm="b", Bearer realm="https://auth.io/token",service="reg"',
    expected: [
      { scheme: "basic", params: { realm: "b" } },
      { scheme: "bearer", params: { realm: "https://auth.io/token", service: "reg" } },
    ],
  },
  {
    name: "Bearer then Basic, with spaces around = and commas",
    header: 'Bearer realm = "https://auth.io/t" , service = "reg" ,  Basic realm="r"',
    expected: [
      { scheme: "bearer", params: { realm: "https://auth.io/t", service: "reg" } },
      { scheme: "basic", params: { realm: "r" } },
    ],
  },
  {
    name: "three challenges, one without parameters",
    header: 'Negotiate, Basic realm="x", Bearer realm="https://y/token"',
    expected: [
      { scheme: "negotiate", params: {} },
      { scheme: "basic", params: { realm: "x" } },
      { scheme: "bearer", params: { realm: "https://y/token" } },
    ],
  },
  {
    name: "unquoted token values",
    header: "Bearer realm=https://auth.io/token,service=reg",
    expected: [{ scheme: "bearer", params: { realm: "https://auth.io/token", service: "reg" } }],
  },
  {
    name: "stray commas are ignored",
    header: ', , Basic realm="r",, ',
    expected: [{ scheme: "basic", params: { realm: "r" } }],
  },
  {
    name: "unterminated quote takes the rest of the value",
    header: 'Bearer realm="https://auth.io/token',
    expected: [{ scheme: "bearer", params: { realm: "https://auth.io/token" } }],
  },
  { name: "garbage that is no token", header: '"quoted" only', expected: [] },
  {
    name: "missing value after =",
    header: "Bearer realm=, service=reg",
    expected: [{ scheme: "bearer", params: { realm: "", service: "reg" } }],
  },
];

Deno.test("parseChallenges reads every challenge of a WWW-Authenticate value", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => assertEquals(parseChallenges(c.header), c.expected));
  }
});
