/**
 * The `git` command as package clones run it, bounded and non-interactive: no prompt (terminal, askpass,
 * ssh or credential manager), only the transports a kcl.mod may name (GIT_ALLOW_PROTOCOL, whatever the user's
 * git config allows: no `ext::`, which runs a command, and no other remote helper picked by a `name::` URL),
 * an idle timeout on git's progress output plus an overall limit, cancellation by an AbortSignal, and only the
 * tail of git's stderr kept. git runs in a process group of its own, which a timeout or Ctrl-C kills whole, so
 * its helpers (git-remote-https, ssh, index-pack) stop with it.
 *
 * @module
 */

import { DEFAULT_TIMEOUT_MS } from "../oci/http.ts";
import { PackageError } from "./errors.ts";

/**
 * How much of git's stderr is kept, from its end: git's `fatal:` line comes last, and 4 KiB holds it and the
 * lines before it, while a git (or a server's `remote:` messages) printing without end cannot fill memory.
 */
export const GIT_STDERR_TAIL_BYTES = 4 * 1024;

/**
 * The longest one git command may run, progress or not: a server that trickles data or `remote:` messages
 * resets the idle timeout for ever. A shallow clone of a KCL package takes seconds; 15 min leaves room for a
 * full clone (a pinned commit) of a large repository over a slow link.
 */
export const GIT_MAX_MS = 15 * 60_000;

/**
 * git's environment (added to kpm's): the transports the reference kpm (go-git) speaks, and no prompt: a
 * clone that needs credentials nobody stored fails instead of waiting for input.
 */
const GIT_ENV: Record<string, string> = {
  GIT_ALLOW_PROTOCOL: "https:http:ssh:git:file",
  GIT_TERMINAL_PROMPT: "0",
  // empty: git asks no askpass program (not core.askPass, not SSH_ASKPASS) for a user name or password
  GIT_ASKPASS: "",
  SSH_ASKPASS_REQUIRE: "never",
  GCM_INTERACTIVE: "never",
};

/** How kpm runs git. */
export interface GitOptions {
  /** The git command (default "git"). */
  gitBin?: string;
  /** Milliseconds without progress from git after which it is stopped (default DEFAULT_TIMEOUT_MS; 0: none). */
  timeoutMs?: number;
  /** Stops git, with the signal's reason as the error. */
  signal?: AbortSignal;
}

/**
 * Runs `git ARGS` (in `cwd`) until it exits, stopping it (its whole process group) when it makes no progress
 * for `timeoutMs`, runs for GIT_MAX_MS, or `signal` aborts. Pass `--progress` to commands that talk to a
 * server, so that progress is seen.
 *
 * @param options `what` is attempted, for errors (`clone "URL" at "v1"`)
 * @throws {PackageError} `Cannot WHAT: REASON` with git's last stderr line, or naming the timeout or a
 *   missing git; the signal's reason when it aborts
 */
export async function runGit(
  args: string[],
  options: GitOptions & { cwd?: string; what: string },
): Promise<void> {
  const failed = (reason: string) => new PackageError(`Cannot ${options.what}: ${reason}`);
  const bin = options.gitBin ?? "git";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  options.signal?.throwIfAborted();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(bin, {
      args,
      cwd: options.cwd,
      env: GIT_ENV,
      // a session of its own: a process group to kill whole, and no terminal for ssh to prompt on (Windows
      // has no process groups: git alone is killed there)
      detached: Deno.build.os !== "windows",
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    const missing = error instanceof Deno.errors.NotFound;
    throw failed(missing ? `"${bin}" is not installed` : (error as Error).message);
  }
  const git = new Stopper(child, options.signal);
  const idle = new Timer(
    timeoutMs,
    () => git.stop(failed(`git made no progress for ${timeoutMs / 1000} s, so kpm stopped it`)),
  );
  const overall = new Timer(
    GIT_MAX_MS,
    () => git.stop(failed(`git ran for ${GIT_MAX_MS / 60_000} min, so kpm stopped it`)),
  );
  try {
    const [tail, status] = await Promise.all([stderrTail(child.stderr, () => idle.restart()), child.status]);
    if (git.reason !== undefined) throw git.reason;
    if (!status.success) throw failed(lastLine(tail)?.replace(/^fatal: /, "") || `exit ${status.code}`);
  } finally {
    idle.clear();
    overall.clear();
    git.release();
  }
}

/** A running git, killed (its whole process group) at most once, remembering why; also when `signal` aborts. */
class Stopper {
  /** Why git was stopped, if it was. */
  reason: unknown;
  #child: Deno.ChildProcess;
  #signal?: AbortSignal;
  #onAbort = () => this.stop(this.#signal!.reason);

  constructor(child: Deno.ChildProcess, signal?: AbortSignal) {
    this.#child = child;
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  stop(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    try {
      if (Deno.build.os === "windows") this.#child.kill("SIGKILL");
      else Deno.kill(-this.#child.pid, "SIGKILL");
    } catch {
      // it has exited already
    }
  }

  /** Stops listening to the signal. */
  release(): void {
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }
}

/** A timeout that can be restarted; 0 ms: never fires. */
class Timer {
  #id?: ReturnType<typeof setTimeout>;
  #ms: number;
  #fire: () => void;

  constructor(ms: number, fire: () => void) {
    this.#ms = ms;
    this.#fire = fire;
    this.restart();
  }

  restart(): void {
    this.clear();
    if (this.#ms > 0) this.#id = setTimeout(this.#fire, this.#ms);
  }

  clear(): void {
    clearTimeout(this.#id);
  }
}

/** Reads `stream` to its end, calling `onData` for each chunk, and returns its last GIT_STDERR_TAIL_BYTES. */
async function stderrTail(stream: ReadableStream<Uint8Array>, onData: () => void): Promise<Uint8Array> {
  let tail = new Uint8Array(0);
  for await (const chunk of stream) {
    onData();
    const kept = tail.subarray(Math.max(0, tail.length + chunk.length - GIT_STDERR_TAIL_BYTES));
    const next = new Uint8Array(kept.length + Math.min(chunk.length, GIT_STDERR_TAIL_BYTES));
    next.set(kept);
    next.set(chunk.subarray(chunk.length - (next.length - kept.length)), kept.length);
    tail = next;
  }
  return tail;
}

/** The last non-blank line of `bytes` (progress lines end in "\r"). */
function lastLine(bytes: Uint8Array): string | undefined {
  return new TextDecoder().decode(bytes).split(/[\r\n]+/).map((line) => line.trim()).filter(Boolean).pop();
}
