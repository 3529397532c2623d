/**
 * Runs a command on a pseudo-terminal (python3's pty module), so that kpm sees a terminal on stdin and stderr:
 * progress lines, prompts, and Ctrl-C typed at the keyboard (the terminal turns it into SIGINT).
 *
 * @module
 */

/** What a run on a terminal produced: stdout and stderr interleaved as the terminal showed them. */
export interface PtyResult {
  /** The exit status; -N when killed by signal N. */
  code: number;
  output: string;
}

const DRIVER = `
import json, os, pty, select, sys, time
spec = json.loads(sys.stdin.read())
pid, fd = pty.fork()
if pid == 0:
    os.chdir(spec["cwd"])
    os.execvpe(spec["argv"][0], spec["argv"], spec["env"])
out = b""
sends = spec["send"]
deadline = time.time() + spec["timeout"]
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if sends and sends[0][0].encode() in out:
        os.write(fd, sends.pop(0)[1].encode())
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"code": code, "output": out.decode("utf-8", "replace")}))
`;

/** Whether python3 (for the pty) is installed. */
export const hasPty: boolean = await new Deno.Command("python3", { args: ["-c", "import pty"] }).output()
  .then((out) => out.success, () => false);

/**
 * Runs `argv` on a pseudo-terminal.
 *
 * @param options `send`: [text to wait for in the output, keys to type then] in order (e.g. ["Password:", "\x03"])
 */
export async function runInPty(
  argv: string[],
  options: { cwd: string; env: Record<string, string>; send?: [string, string][]; timeoutSeconds?: number },
): Promise<PtyResult> {
  const child = new Deno.Command("python3", {
    args: ["-c", DRIVER],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({
    argv,
    cwd: options.cwd,
    env: options.env,
    send: options.send ?? [],
    timeout: options.timeoutSeconds ?? 120,
  })));
  await writer.close();
  const out = await child.output();
  return JSON.parse(new TextDecoder().decode(out.stdout)) as PtyResult;
}
