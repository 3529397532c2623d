/**
 * The OCI distribution-spec conformance suite (the pseudo-version scripts/peers.sh pins, `go test -c`, built into
 * the peers folder) against `kpm registry serve` with every API on (pull, push, tag list, referrers, tag, manifest
 * and blob deletes) and every data kind (sha512 content included): no failures allowed. The same run against
 * distribution 2.8 is the control: its result is reported, its failures are expected (it predates sha512
 * blobs and the referrers API).
 *
 * @module
 */

import { assert, assertEquals } from "../assert.ts";
import { join } from "node:path";
import { startDistribution } from "./support/distribution.ts";
import { startKpmServe } from "./support/kpm_serve.ts";
import { ignoreWithoutPeers, peerCommand } from "./support/peers.ts";

const BINARY = "conformance.test";

const suite = await peerCommand(BINARY);

/** The result of one suite run, from its junit.xml: leaf test cases by status, failures with their errors. */
interface SuiteResult {
  passed: number;
  skipped: number;
  failed: string[];
}

/** The XML escapes Go's encoding/xml writes in attributes and text, and what they stand for. */
const XML_ESCAPES: Record<string, string> = {
  "&#34;": '"',
  "&#39;": "'",
  "&#xA;": "\n",
  "&#x9;": "\t",
  "&lt;": "<",
  "&gt;": ">",
  "&amp;": "&",
};

/** Undoes Go's XML escapes. */
function unescapeXml(text: string): string {
  return text.replace(/&(?:#34|#39|#xA|#x9|lt|gt|amp);/g, (escape) => XML_ESCAPES[escape]!);
}

/**
 * Reads the test cases of the suite's junit.xml (`<testcase name=… status=…>`, errors in `<system-out>`): "passed",
 * "skipped" (also the suite's disabled tests), else "failure" or "error" (a failure named with its errors).
 */
function parseJunit(xml: string): SuiteResult {
  const result: SuiteResult = { passed: 0, skipped: 0, failed: [] };
  const cases = /<testcase\s+name="([^"]*)"[^>]*\sstatus="([a-z]+)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const [, name, status, body] of xml.matchAll(cases)) {
    if (status === "passed") result.passed++;
    else if (status === "skipped") result.skipped++;
    else {
      const errors = /<system-out>([\s\S]*?)<\/system-out>/.exec(body ?? "")?.[1];
      result.failed.push(`${unescapeXml(name!)} (${status})${errors ? `: ${unescapeXml(errors)}` : ""}`);
    }
  }
  return result;
}

/** Runs the suite against the plain-HTTP registry at `host` (host:port) with every API and data kind on. */
async function runSuite(host: string, user: { username: string; password: string }): Promise<SuiteResult> {
  const reports = await Deno.makeTempDir({ prefix: "kpm-conformance-" });
  try {
    const out = await new Deno.Command(suite, {
      cwd: reports,
      env: {
        OCI_VERSION: "1.1",
        OCI_REGISTRY: host,
        OCI_TLS: "disabled",
        OCI_REPO1: "conformance/repo1",
        OCI_REPO2: "conformance/other",
        OCI_USERNAME: user.username,
        OCI_PASSWORD: user.password,
        OCI_API_PULL: "true",
        OCI_API_PUSH: "true",
        OCI_API_TAGS_LIST: "true",
        OCI_API_REFERRER: "true",
        OCI_API_TAGS_DELETE: "true",
        OCI_API_MANIFESTS_DELETE: "true",
        OCI_API_BLOBS_DELETE: "true",
        OCI_DATA_SHA512: "true",
        OCI_RESULTS_DIR: reports,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const xml = await Deno.readTextFile(join(reports, "junit.xml")).catch(() => {
      const output = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      throw new Error(`The conformance suite wrote no junit.xml (exit ${out.code}):\n${output}`);
    });
    return parseJunit(xml);
  } finally {
    await Deno.remove(reports, { recursive: true });
  }
}

Deno.test({
  name: "the OCI conformance suite passes against kpm registry serve (pull, push, discovery, management)",
  ignore: await ignoreWithoutPeers([BINARY]),
  sanitizeResources: false,
}, async (t) => {
  const user = { username: "conformance", password: "s3cret" };
  const access =
    `users:\n  ${user.username}:\n    - repos: "conformance/**"\n      actions: [pull, push, delete]\n`;
  for (const rules of [false, true]) {
    await t.step(
      rules ? "with an access file (token scopes checked against it)" : "with one account",
      async () => {
        const root = await Deno.makeTempDir({ prefix: "kpm-conformance-registry-" });
        const accessFile = join(root, "access.yaml");
        await Deno.writeTextFile(accessFile, access);
        const args = [
          "--root",
          join(root, "data"),
          "--delete",
          "--user",
          `${user.username}:${user.password}`,
        ];
        const server = await startKpmServe(rules ? [...args, "--access", accessFile] : args);
        try {
          const result = await runSuite(server.host, user);
          console.error(
            `conformance against kpm${
              rules ? " (access file)" : ""
            }: ${result.passed} passed, ${result.failed.length} failed, ${result.skipped} skipped`,
          );
          assertEquals(result.failed, [], "conformance failures against kpm registry serve");
          assert(result.passed > 0, "the suite ran no test");
        } finally {
          await server.stop();
          await Deno.remove(root, { recursive: true });
        }
      },
    );
  }
});

Deno.test({
  name: "control: the same conformance run against distribution 2.8 completes and reports its result",
  ignore: await ignoreWithoutPeers([BINARY, "docker-registry", "htpasswd"]),
  sanitizeResources: false,
}, async () => {
  const registry = await startDistribution({ auth: "htpasswd" });
  try {
    const result = await runSuite(registry.host, registry.users[0]!);
    console.error(
      `conformance against distribution 2.8: ${result.passed} passed, ${result.failed.length} failed, ${result.skipped} skipped`,
    );
    assert(result.passed > 0, "the suite ran no test against distribution");
  } finally {
    await registry.close();
  }
});
