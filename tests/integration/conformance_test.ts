/**
 * The OCI distribution-spec conformance suite (v1.1.1, `go test -c`, built into the peers folder) against
 * `kpm registry serve` with pull, push, content discovery and content management enabled: no failures allowed.
 * The same run against distribution 2.8 is the control: its result is reported, its failures are expected (it
 * predates the referrers API).
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

/** The result of one suite run, from its junit.xml. */
interface SuiteResult {
  passed: number;
  skipped: number;
  failed: string[];
}

/** Reads the statuses of the test cases of a Ginkgo junit.xml report. */
function parseJunit(xml: string): SuiteResult {
  const result: SuiteResult = { passed: 0, skipped: 0, failed: [] };
  for (const match of xml.matchAll(/<testcase\s+name="([^"]*)"[^>]*\sstatus="([a-z]+)"/g)) {
    const [, name, status] = match;
    if (status === "passed") result.passed++;
    else if (status === "skipped" || status === "pending") result.skipped++;
    else result.failed.push(name!.replaceAll("&#34;", '"').replaceAll("&amp;", "&"));
  }
  return result;
}

/** Runs the suite against `rootUrl` with every workflow on; returns its junit result. */
async function runSuite(rootUrl: string, user: { username: string; password: string }): Promise<SuiteResult> {
  const reports = await Deno.makeTempDir({ prefix: "kpm-conformance-" });
  try {
    const out = await new Deno.Command(suite, {
      cwd: reports,
      env: {
        OCI_ROOT_URL: rootUrl,
        OCI_NAMESPACE: "conformance/repo1",
        OCI_CROSSMOUNT_NAMESPACE: "conformance/other",
        OCI_USERNAME: user.username,
        OCI_PASSWORD: user.password,
        OCI_TEST_PULL: "1",
        OCI_TEST_PUSH: "1",
        OCI_TEST_CONTENT_DISCOVERY: "1",
        OCI_TEST_CONTENT_MANAGEMENT: "1",
        OCI_AUTOMATIC_CROSSMOUNT: "0",
        OCI_HIDE_SKIPPED_WORKFLOWS: "0",
        OCI_REPORT_DIR: reports,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const xml = await Deno.readTextFile(join(reports, "junit.xml")).catch(() => {
      throw new Error(
        `The conformance suite wrote no report (exit ${out.code}):\n${new TextDecoder().decode(out.stderr)}`,
      );
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
          const result = await runSuite(server.url, user);
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
    const result = await runSuite(`http://${registry.host}`, registry.users[0]!);
    console.error(
      `conformance against distribution 2.8: ${result.passed} passed, ${result.failed.length} failed, ${result.skipped} skipped`,
    );
    assert(result.passed > 0, "the suite ran no test against distribution");
  } finally {
    await registry.close();
  }
});
