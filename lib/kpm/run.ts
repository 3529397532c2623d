/**
 * Hands a resolved package to the KCL compiler: `kcl run -E NAME=PATH … ARGS` in the package folder, with its
 * output streamed and its exit status returned.
 *
 * @module
 */

import { resolve as resolvePath } from "node:path";
import { HintedError } from "../oci/hint.ts";
import type { PackageHint } from "./errors.ts";

/** Thrown when the compiler cannot be started. */
export class CompilerError extends HintedError<PackageHint> {
  override name = "CompilerError";
}

/** A resolved dependency: its name as KCL imports it, and its folder. */
export interface ResolvedDependency {
  name: string;
  path: string;
}

/**
 * The compiler's arguments: `run`, one `-E NAME=PATH` per dependency (NAME with `-` as `_`, as KCL imports
 * it), then the user's arguments.
 */
export function compilerArgs(dependencies: ResolvedDependency[], userArgs: string[]): string[] {
  const externals = dependencies.flatMap((dep) => ["-E", `${dep.name.replaceAll("-", "_")}=${dep.path}`]);
  return ["run", ...externals, ...userArgs];
}

/**
 * Runs the KCL compiler `compiler` (a name looked up on PATH, or a path) in `cwd` (where the user stands, so
 * that `-o out.yaml` lands there); a package elsewhere (a pulled one, in the cache) is named as its first
 * argument.
 *
 * @returns the compiler's exit status
 * @throws {CompilerError} when no compiler is installed, with how to get one
 */
export async function runCompiler(
  packageDir: string,
  options: {
    compiler: string;
    dependencies: ResolvedDependency[];
    args: string[];
    cwd: string;
  },
): Promise<number> {
  const bin = options.compiler;
  const args = resolvePath(options.cwd) === resolvePath(packageDir)
    ? options.args
    : [packageDir, ...options.args];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(bin, {
      args: compilerArgs(options.dependencies, args),
      cwd: options.cwd,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new CompilerError(
        `The KCL compiler "${bin}" is not installed; the package is resolved in "${packageDir}"`,
        { hint: { kind: "compiler" } },
      );
    }
    throw new CompilerError(`Cannot start the KCL compiler "${bin}": ${(error as Error).message}`);
  }
  return (await child.status).code;
}
