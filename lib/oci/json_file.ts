/**
 * Reading the small JSON files kpm keeps (credentials, settings): a missing file is no error, anything else
 * that is not a JSON object is, named by the file's label and path.
 *
 * @module
 */

/**
 * Reads a JSON file that must hold an object.
 *
 * @param path the file
 * @param options `label` names the file in errors (`credentials file`), `error` makes the domain's error,
 *   `emptyIsObject` reads an empty file as `{}` (docker writes one)
 * @returns the object, or undefined when the file does not exist
 * @throws the error `options.error` makes, when the file cannot be read or is not a JSON object
 */
export async function readJsonObject<T extends object>(
  path: string,
  options: { label: string; error: (message: string) => Error; emptyIsObject?: boolean },
): Promise<T | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw options.error(`Cannot read ${options.label} "${path}": ${(error as Error).message}`);
  }
  if (options.emptyIsObject && text.trim() === "") return {} as T;
  try {
    const parsed = JSON.parse(text);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as T;
  } catch (error) {
    const label = options.label[0]!.toUpperCase() + options.label.slice(1);
    throw options.error(`${label} "${path}" is not valid: ${(error as Error).message}`);
  }
}
