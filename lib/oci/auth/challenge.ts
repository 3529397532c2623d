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
  const challenges: Challenge[] = [];
  let pos = 0;
  const skipSpaces = () => {
    if (pos >= header.length) return; // a sticky regex past the end resets lastIndex to 0
    SPACES.lastIndex = pos;
    SPACES.exec(header);
    pos = SPACES.lastIndex;
  };
  const readToken = (): string | undefined => {
    TOKEN.lastIndex = pos;
    const match = TOKEN.exec(header);
    if (!match) return undefined;
    pos = TOKEN.lastIndex;
    return match[0];
  };
  const readQuoted = (): string => {
    let value = "";
    pos++; // opening quote
    while (pos < header.length && header[pos] !== '"') {
      if (header[pos] === "\\" && pos + 1 < header.length) pos++;
      value += header[pos];
      pos++;
    }
    pos = Math.min(pos + 1, header.length); // closing quote (absent when the value is unterminated)
    return value;
  };
  const readBareValue = (): string => {
    BARE_VALUE.lastIndex = pos;
    const match = BARE_VALUE.exec(header);
    if (!match) return "";
    pos = BARE_VALUE.lastIndex;
    return match[0];
  };

  while (pos < header.length) {
    skipSpaces();
    if (header[pos] === ",") {
      pos++;
      continue;
    }
    const scheme = readToken();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    // parameters: key=value pairs separated by commas, until a token not followed by "=" (the next scheme)
    while (pos < header.length) {
      skipSpaces();
      const start = pos;
      const key = readToken();
      if (!key) {
        if (header[pos] === ",") {
          pos++;
          continue;
        }
        break;
      }
      skipSpaces();
      if (header[pos] !== "=") {
        pos = start; // a new challenge begins here (or a token68, which registries do not use)
        break;
      }
      pos++;
      skipSpaces();
      const value = header[pos] === '"' ? readQuoted() : readBareValue();
      challenge.params[key.toLowerCase()] = value;
      skipSpaces();
      if (header[pos] === ",") pos++;
    }
  }
  return challenges;
}
