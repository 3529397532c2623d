/**
 * Where a Go peer built by scripts/peers.sh is: `$KPM_PEERS_BIN`, then `~/.cache/kpm-peers/bin`, then PATH.
 * (The same rule as the interop helper's `peerPath`; this file goes when that lands in support/peers.ts.)
 *
 * @module
 */

import { join } from "node:path";
import { missingPeers } from "./peers.ts";

/**
 * The path of peer `name`, or undefined when it is not built.
 *
 * @param name the executable's name, e.g. `oras`, `conformance.test`
 */
export async function peerBinary(name: string): Promise<string | undefined> {
  const home = Deno.env.get("HOME");
  const folders = [Deno.env.get("KPM_PEERS_BIN"), home && join(home, ".cache", "kpm-peers", "bin")];
  for (const folder of folders) {
    if (!folder) continue;
    const path = join(folder, name);
    if (await Deno.stat(path).then((info) => info.isFile, () => false)) return path;
  }
  return (await missingPeers([name])).length === 0 ? name : undefined;
}
