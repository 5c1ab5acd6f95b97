/** We honour a receiver's back-off request, but never let it park a delivery for more than this. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). Returns milliseconds,
 * capped to an hour; undefined when absent or unparseable (the caller's schedule applies).
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(v)) {
    ms = Number(v) * 1000;
  } else {
    // All three HTTP-date forms start with a day name; without this check V8's lenient Date.parse
    // would read "-5" or "1.5" as dates.
    if (!/^(mon|tue|wed|thu|fri|sat|sun)/i.test(v)) return undefined;
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS);
}
