/**
 * Reference parsing and formatting: host[:port]/repo[:tag][@digest], the `oci://` prefix, Docker Hub defaults
 * and the errors for bad input.
 */

import {
  formatReference,
  isLoopback,
  parseReference,
  type Reference,
  ReferenceFormatError,
  referenceTarget,
  registryEndpoint,
} from "../lib/oci/reference.ts";
import type { Digest } from "../lib/oci/digest.ts";
import { assertEquals, assertThrows } from "./assert.ts";

const DIGEST: Digest = `sha256:${"ab".repeat(32)}`;

Deno.test("parseReference reads every accepted form", async (t) => {
  const cases: [string, Reference][] = [
    ["localhost:5001/test/mypkg:0.0.1", {
      registry: "localhost:5001",
      repository: "test/mypkg",
      tag: "0.0.1",
    }],
    ["oci://ghcr.io/kcl-lang/k8s:1.28", { registry: "ghcr.io", repository: "kcl-lang/k8s", tag: "1.28" }],
    ["ghcr.io/kcl-lang/k8s", { registry: "ghcr.io", repository: "kcl-lang/k8s" }],
    [`ghcr.io/a/b@${DIGEST}`, { registry: "ghcr.io", repository: "a/b", digest: DIGEST }],
    [`ghcr.io/a/b:v1@${DIGEST}`, { registry: "ghcr.io", repository: "a/b", tag: "v1", digest: DIGEST }],
    ["127.0.0.1:5000/a/b/c:latest", { registry: "127.0.0.1:5000", repository: "a/b/c", tag: "latest" }],
    ["localhost/repo", { registry: "localhost", repository: "repo" }],
    ["[::1]:5000/repo:t", { registry: "[::1]:5000", repository: "repo", tag: "t" }],
    ["registry.example.com:443/x/y_z.w-v__u:TAG_1.x-y", {
      registry: "registry.example.com:443",
      repository: "x/y_z.w-v__u",
      tag: "TAG_1.x-y",
    }],
    ["alpine", { registry: "docker.io", repository: "library/alpine" }],
    ["alpine:3.19", { registry: "docker.io", repository: "library/alpine", tag: "3.19" }],
    ["account/repo:1.0", { registry: "docker.io", repository: "account/repo", tag: "1.0" }],
    ["docker.io/alpine", { registry: "docker.io", repository: "library/alpine" }],
    ["index.docker.io/alpine:1", { registry: "docker.io", repository: "library/alpine", tag: "1" }],
    ["registry-1.docker.io/user/app", { registry: "docker.io", repository: "user/app" }],
    ["docker.io/library/alpine", { registry: "docker.io", repository: "library/alpine" }],
    ["  ghcr.io/a/b:c  ", { registry: "ghcr.io", repository: "a/b", tag: "c" }],
    [`ghcr.io/a:${"t".repeat(128)}`, { registry: "ghcr.io", repository: "a", tag: "t".repeat(128) }],
  ];
  for (const [input, expected] of cases) {
    await t.step(input.length > 60 ? `${input.slice(0, 60)}…` : input, () => {
      assertEquals(parseReference(input), expected);
    });
  }
});

Deno.test("parseReference refuses bad input with a message naming the input and the part", async (t) => {
  const cases: [string, string][] = [
    ["", "it is empty"],
    ["   ", "it is empty"],
    ["https://ghcr.io/a/b", "only the oci:// scheme is supported"],
    ["oci://", "it is empty"],
    ["ghcr.io/", "the repository is missing"],
    ["ghcr.io/a/b/", 'repository "a/b/"'],
    ["ghcr.io/A/b", 'repository "A/b" must be lowercase'],
    ["ghcr.io/a//b", 'repository "a//b"'],
    ["ghcr.io/-a", 'repository "-a"'],
    ["ghcr.io/a_/b", 'repository "a_/b"'],
    ["ghcr.io/a/b:", 'tag ""'],
    ["ghcr.io/a/b:.x", 'tag ".x"'],
    ["ghcr.io/a/b:-x", 'tag "-x"'],
    ["ghcr.io/a/b:a+b", 'tag "a+b"'],
    [`ghcr.io/a:${"t".repeat(129)}`, "tag"],
    ["ghcr.io/a/b@sha256:abc", '"sha256:abc" is not a valid digest'],
    [`ghcr.io/a/b@md5:${"a".repeat(32)}`, "is not a valid digest"],
    [`ghcr.io/a/b@sha256:${"A".repeat(64)}`, "is not a valid digest"],
    ["ghcr.io/a/b@", "is not a valid digest"],
    ["bad_host:5000/a", 'registry "bad_host:5000"'],
    ["host.-x/a", 'registry "host.-x"'],
    ["host:port/a", 'registry "host:port"'],
  ];
  for (const [input, part] of cases) {
    await t.step(JSON.stringify(input).slice(0, 60), () => {
      const error = assertThrows(() => parseReference(input), ReferenceFormatError, part);
      assertEquals(error.message.startsWith(`Invalid reference "${input}": `), true, error.message);
      assertEquals(error.message.includes("\n"), false);
    });
  }
});

Deno.test("formatReference round-trips parsed references", async (t) => {
  for (
    const input of [
      "localhost:5001/test/mypkg:0.0.1",
      "ghcr.io/a/b",
      `ghcr.io/a/b@${DIGEST}`,
      `ghcr.io/a/b:v1@${DIGEST}`,
      "docker.io/library/alpine:3",
    ]
  ) {
    await t.step(input, () => assertEquals(formatReference(parseReference(input)), input));
  }
  assertEquals(formatReference(parseReference("oci://alpine")), "docker.io/library/alpine");
});

Deno.test("registryEndpoint, isLoopback and referenceTarget", async (t) => {
  await t.step("Docker Hub is reached at registry-1.docker.io", () => {
    assertEquals(registryEndpoint("docker.io"), "registry-1.docker.io");
    assertEquals(registryEndpoint("ghcr.io"), "ghcr.io");
  });
  const loopback: [string, boolean][] = [
    ["localhost", true],
    ["localhost:5001", true],
    ["127.0.0.1:5000", true],
    ["127.1.2.3", true],
    ["[::1]:5000", true],
    ["128.0.0.1", false],
    ["localhost.example.com", false],
    ["127.0.0.1.nip.io:80", false],
    ["ghcr.io", false],
  ];
  for (const [host, expected] of loopback) {
    await t.step(`isLoopback(${host}) is ${expected}`, () => assertEquals(isLoopback(host), expected));
  }
  await t.step("a manifest request asks for the digest, else the tag, else latest", () => {
    assertEquals(referenceTarget({ registry: "r", repository: "a", tag: "t", digest: DIGEST }), DIGEST);
    assertEquals(referenceTarget({ registry: "r", repository: "a", tag: "t" }), "t");
    assertEquals(referenceTarget({ registry: "r", repository: "a" }), "latest");
  });
});
