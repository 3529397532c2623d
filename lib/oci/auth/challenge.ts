/**
 * Parsing of `WWW-Authenticate` header values (RFC 7235), including several challenges in one value, as fetch
 * joins repeated headers with ", ".
 *
 * @module
 */

/** One authentication challenge: its scheme (lowercased) and parameters (keys lowercased). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
/** An unquoted parameter value: a token, leniently also `/`, `:` and the like (unquoted realm URLs). */
const BARE_VALUE = /[^\s,"]+/y;
const SPACES = /[ \t]*/y;

/**
 * Parses a WWW-Authenticate value into its challenges.
 *
 * @param header the header value, e.g. `Bearer realm="https://auth.io/token",service="reg", Basic realm="x"`
 * @returns the challenges in order; an empty list for an empty or unparseable value
 * @example parseChallenges('Basic realm="r"') // [{ scheme: "basic", params: { realm: "r" } }]
 */
export function parseChallenges(header: string): Challenge[] {
  const scanner = new Scanner(header);
  const challenges: Challenge[] = [];
  while (!scanner.done) {
    scanner.skipSpaces();
    if (scanner.take(",")) continue;
    const scheme = scanner.token();
    if (!scheme) break;
    challenges.push({ scheme: scheme.toLowerCase(), params: readParams(scanner) });
  }
  return challenges;
}

/**
 * Reads a challenge's parameters: `key=value` pairs separated by commas, until a token not followed by `=`
 * (the next challenge's scheme, or a token68, which registries do not use).
 */
function readParams(scanner: Scanner): Record<string, string> {
  const params: Record<string, string> = {};
  while (!scanner.done) {
    scanner.skipSpaces();
    const start = scanner.pos;
    const key = scanner.token();
    if (!key) {
      if (scanner.take(",")) continue;
      break;
    }
    scanner.skipSpaces();
    if (!scanner.take("=")) {
      scanner.pos = start; // a new challenge begins here
      break;
    }
    scanner.skipSpaces();
    params[key.toLowerCase()] = scanner.peek('"') ? scanner.quoted() : scanner.bareValue();
    scanner.skipSpaces();
    scanner.take(",");
  }
  return params;
}

/** A cursor over a header value. */
class Scanner {
  readonly #text: string;
  /** The position of the next character to read. */
  pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  /** True when everything was read. */
  get done(): boolean {
    return this.pos >= this.#text.length;
  }

  /** True when the next character is `char`. */
  peek(char: string): boolean {
    return this.#text[this.pos] === char;
  }

  /** Reads `char` when it comes next; returns whether it did. */
  take(char: string): boolean {
    if (!this.peek(char)) return false;
    this.pos++;
    return true;
  }

  skipSpaces(): void {
    if (!this.done) this.#match(SPACES); // a sticky regex past the end resets lastIndex to 0
  }

  /** A token (a scheme or a parameter name), or undefined when none comes next. */
  token(): string | undefined {
    return this.#match(TOKEN);
  }

  /** An unquoted value (empty when none comes next). */
  bareValue(): string {
    return this.#match(BARE_VALUE) ?? "";
  }

  /** A quoted string, unescaped; an unterminated one runs to the end. */
  quoted(): string {
    const text = this.#text;
    let value = "";
    this.pos++; // opening quote
    while (this.pos < text.length && text[this.pos] !== '"') {
      if (text[this.pos] === "\\" && this.pos + 1 < text.length) this.pos++;
      value += text[this.pos];
      this.pos++;
    }
    this.pos = Math.min(this.pos + 1, text.length); // closing quote
    return value;
  }

  /** Reads what the sticky `pattern` matches at the cursor. */
  #match(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.pos;
    const match = pattern.exec(this.#text);
    if (!match) return undefined;
    this.pos = pattern.lastIndex;
    return match[0];
  }
}
