/**
 * How requests appear in logs. A download link's token is the credential for the file, so it
 * never reaches a log line; neither do API keys (headers are not logged at all).
 *
 * Tokens are found by what they are, not by where a well-behaved client puts them: the router
 * decodes percent-escapes (`/%64ownloads/<token>` is served), and a mistyped path (`//downloads/`,
 * `/DOWNLOADS/`, `/downloads%2F<token>`) is logged on its 404 just the same. So the URL is
 * percent-decoded (repeatedly, for double-encoding) with every decoded character mapped back to the
 * raw text it came from, and two rules mark raw spans for redaction:
 * - the token's shape: base64url segments joined by dots, one of them at least MAC-sized
 *   (`<body>.<43-char HMAC-SHA256>`, see packages/engine/src/download-links.ts), anywhere;
 * - everything after a path segment that reads `downloads` once decoded and case-folded.
 */

const REDACTED = '<redacted>';

/** A decoded character and the raw `[start, end)` it was spelled with. */
interface Unit {
  char: string;
  start: number;
  end: number;
}

const BASE64URL_RUN = /[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+/g;
/**
 * An HMAC-SHA256 in base64url is 43 characters (and the signed body is longer): a dotted run with a
 * segment this long is treated as a token, whatever order a future format puts its parts in.
 */
const MAC_LENGTH = 43;
/** Double and triple encoding still reach a decoder somewhere; more than that is noise. */
const DECODE_PASSES = 4;

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9A-Fa-f]$/.test(c);
}

/** One percent-decoding pass over units; bytes >= 0x80 become a placeholder no token contains. */
function decodePass(units: Unit[]): Unit[] | null {
  const out: Unit[] = [];
  let changed = false;
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    const hi = units[i + 1];
    const lo = units[i + 2];
    if (u.char === '%' && hi && lo && isHex(hi.char) && isHex(lo.char)) {
      const code = parseInt(hi.char + lo.char, 16);
      out.push({ char: code < 0x80 ? String.fromCharCode(code) : '\uFFFD', start: u.start, end: lo.end });
      i += 2;
      changed = true;
    } else {
      out.push(u);
    }
  }
  return changed ? out : null;
}

function decodedUnits(raw: string): Unit[] {
  let units: Unit[] = [];
  let offset = 0;
  for (const char of raw) {
    // One UTF-16 unit per entry, so indexes into the joined text are indexes into `units`.
    units.push({ char: char.length === 1 ? char : '\uFFFD', start: offset, end: offset + char.length });
    offset += char.length;
  }
  for (let pass = 0; pass < DECODE_PASSES; pass++) {
    const next = decodePass(units);
    if (!next) break;
    units = next;
  }
  return units;
}

/** Raw spans holding something token-shaped. */
function tokenSpans(units: Unit[], text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const m of text.matchAll(BASE64URL_RUN)) {
    if (!m[0].split('.').some((segment) => segment.length >= MAC_LENGTH)) continue;
    const first = m.index;
    const last = first + m[0].length - 1;
    spans.push([units[first]!.start, units[last]!.end]);
  }
  return spans;
}

/** The raw span after a `downloads` path segment, to the end of the path. */
function downloadPathSpans(units: Unit[], raw: string): Array<[number, number]> {
  // The path ends at the first raw `?` or `#`: an encoded one is part of the path the router sees.
  const pathEnd = units.findIndex((u) => u.end - u.start === 1 && (u.char === '?' || u.char === '#'));
  const path = pathEnd === -1 ? units : units.slice(0, pathEnd);
  const spans: Array<[number, number]> = [];
  let segmentStart = 0;
  for (let i = 0; i <= path.length; i++) {
    const atEnd = i === path.length;
    if (!atEnd && path[i]!.char !== '/' && path[i]!.char !== '\\') continue;
    const segment = path
      .slice(segmentStart, i)
      .map((u) => u.char)
      .join('');
    if (segment.toLowerCase() === 'downloads' && !atEnd && i + 1 < path.length) {
      spans.push([path[i + 1]!.start, path[path.length - 1]!.end]);
      break;
    }
    segmentStart = i + 1;
  }
  return spans.filter(([start, end]) => end > start && start < raw.length);
}

export function redactUrl(url: string): string {
  const units = decodedUnits(url);
  const text = units.map((u) => u.char).join('');
  const spans = [...tokenSpans(units, text), ...downloadPathSpans(units, url)].sort((a, b) => a[0] - b[0]);
  if (spans.length === 0) return url;
  let out = '';
  let at = 0;
  for (const [start, end] of spans) {
    if (end <= at) continue;
    out += url.slice(at, Math.max(at, start)) + (start >= at ? REDACTED : '');
    at = end;
  }
  return out + url.slice(at);
}

export const logSerializers = {
  req(req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) {
    return { method: req.method, url: redactUrl(req.url ?? ''), remoteAddress: req.ip ?? req.socket?.remoteAddress };
  },
};
