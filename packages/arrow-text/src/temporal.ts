import { writePadded } from './numbers.js';

/** `+275760-09-13T00:00:00.123456789+05:30` plus two quotes. */
export const MAX_TIMESTAMP_CHARS = 40;
/** `+275760-09-13` plus two quotes. */
export const MAX_DATE_CHARS = 15;
/** `23:59:59.123456789` plus two quotes. */
export const MAX_TIME_CHARS = 20;

const TWO_32 = 4294967296;

/**
 * Write the civil date of `days` since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian; Howard
 * Hinnant's days-to-civil algorithm, no Date objects). Years outside 0000..9999 use the ISO 8601
 * expanded form `±YYYYYY`, as `Date.prototype.toISOString` does.
 */
export function writeDate(buf: Uint8Array, pos: number, days: number): number {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  // doe..d are small non-negative integers: int32 division (`| 0`) is exact and fast.
  const doe = z - era * 146097;
  const yoe = ((doe - ((doe / 1460) | 0) + ((doe / 36524) | 0) - ((doe / 146096) | 0)) / 365) | 0;
  const doy = doe - (365 * yoe + ((yoe / 4) | 0) - ((yoe / 100) | 0));
  const mp = ((5 * doy + 2) / 153) | 0;
  const d = doy - (((153 * mp + 2) / 5) | 0) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y >= 0 && y <= 9999) {
    pos = writePadded(buf, pos, y, 4);
  } else {
    buf[pos++] = y < 0 ? 45 : 43;
    pos = writePadded(buf, pos, Math.abs(y), 6);
  }
  buf[pos++] = 45;
  pos = writePadded(buf, pos, m, 2);
  buf[pos++] = 45;
  return writePadded(buf, pos, d, 2);
}

/** Write `HH:MM:SS` for `0 <= sec < 86400`. */
export function writeClock(buf: Uint8Array, pos: number, sec: number): number {
  const h = (sec / 3600) | 0;
  const rest = sec - h * 3600;
  const m = (rest / 60) | 0;
  pos = writePadded(buf, pos, h, 2);
  buf[pos++] = 58;
  pos = writePadded(buf, pos, m, 2);
  buf[pos++] = 58;
  return writePadded(buf, pos, rest - m * 60, 2);
}

/** Write `.fff` for `0 < frac < 10^digits` with trailing zeros trimmed; nothing for 0. */
export function writeFraction(buf: Uint8Array, pos: number, frac: number, digits: number): number {
  if (frac === 0 || digits === 0) return pos;
  buf[pos++] = 46;
  pos = writePadded(buf, pos, frac, digits);
  while (buf[pos - 1] === 48) pos--;
  return pos;
}

/** Write a UTC offset in seconds as `Z` or `±HH:MM`. */
export function writeOffset(buf: Uint8Array, pos: number, offsetSec: number): number {
  if (offsetSec === 0) {
    buf[pos++] = 90; // 'Z'
    return pos;
  }
  buf[pos++] = offsetSec < 0 ? 45 : 43;
  const abs = Math.abs(offsetSec);
  const h = Math.floor(abs / 3600);
  pos = writePadded(buf, pos, h, 2);
  buf[pos++] = 58;
  return writePadded(buf, pos, Math.floor((abs - h * 3600) / 60), 2);
}

/** Units per second for Arrow's TimeUnit (SECOND, MILLISECOND, MICROSECOND, NANOSECOND). */
export const UNITS_PER_SECOND = [1, 1e3, 1e6, 1e9] as const;
export const FRACTION_DIGITS = [0, 3, 6, 9] as const;

/**
 * Exact floor division of the int64 `(hi, lo)` by `unitsPerSecond` without BigInt: an approximate
 * quotient from the double value, then the exact remainder from the low 32 bits (Math.imul), then
 * a correction step. Result in `out[0]` (seconds) and `out[1]` (remainder, `0 <= r < units`).
 * Exact whenever the seconds fit in 53 bits, i.e. for every representable calendar date.
 */
export function splitEpoch(lo: number, hi: number, unitsPerSecond: number, out: Float64Array): void {
  const approx = hi * TWO_32 + lo;
  let s = Math.floor(approx / unitsPerSecond);
  let r = (lo - Math.imul(s % TWO_32 | 0, unitsPerSecond)) | 0;
  while (r < 0) {
    s -= 1;
    r += unitsPerSecond;
  }
  while (r >= unitsPerSecond) {
    s += 1;
    r -= unitsPerSecond;
  }
  out[0] = s;
  out[1] = r;
}

const UTC_NAMES = new Set(['utc', 'etc/utc', 'z', 'gmt', 'etc/gmt', 'uct', 'etc/uct', 'universal', 'etc/universal', 'zulu', 'etc/zulu', 'gmt0', 'etc/gmt0', 'greenwich', 'etc/greenwich']);
const FIXED = /^([+-])(\d{2}):?(\d{2})$/;
const BUCKET_SEC = 900;

/**
 * The UTC offset to print for a timestamp column's `timezone`.
 *  - no timezone: a naive (wall clock) timestamp, printed without suffix;
 *  - UTC spellings: `Z`;
 *  - a fixed offset `+05:30`: that offset;
 *  - an IANA name: the zone's offset at each instant (looked up once per 15 minutes and cached; a
 *    bucket that contains a transition is resolved per value). Offsets with seconds (pre-1900 local
 *    mean time) and unknown zone names fall back to UTC `Z`: the instant stays right.
 */
export class ZoneOffsets {
  readonly naive: boolean;
  readonly fixedSec: number | null;
  readonly #format: Intl.DateTimeFormat | null;
  #bucket = Number.NaN;
  #bucketOffset = 0;
  #bucketExact = true;

  constructor(timezone: string | null | undefined) {
    this.naive = timezone == null || timezone === '';
    this.fixedSec = 0;
    this.#format = null;
    if (this.naive || UTC_NAMES.has(timezone!.toLowerCase())) return;
    const fixed = FIXED.exec(timezone!);
    if (fixed) {
      const sec = (Number(fixed[2]) * 3600 + Number(fixed[3]) * 60) * (fixed[1] === '-' ? -1 : 1);
      this.fixedSec = sec;
      return;
    }
    try {
      this.#format = new Intl.DateTimeFormat('en-US', {
        timeZone: timezone!,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
      this.fixedSec = null;
    } catch {
      // Unknown zone: print UTC, which names the same instant.
    }
  }

  /** Offset in seconds east of UTC at `utcSec`. */
  offsetAt(utcSec: number): number {
    if (this.fixedSec !== null) return this.fixedSec;
    const bucket = Math.floor(utcSec / BUCKET_SEC);
    if (bucket !== this.#bucket) {
      const a = this.#lookup(bucket * BUCKET_SEC);
      const b = this.#lookup(bucket * BUCKET_SEC + BUCKET_SEC - 1);
      this.#bucket = bucket;
      this.#bucketOffset = a;
      this.#bucketExact = a === b;
    }
    return this.#bucketExact ? this.#bucketOffset : this.#lookup(utcSec);
  }

  #lookup(utcSec: number): number {
    const ms = utcSec * 1000;
    if (!(Math.abs(ms) <= 8.64e15)) return 0;
    let year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0, bc = false;
    for (const part of this.#format!.formatToParts(ms)) {
      switch (part.type) {
        case 'year': year = Number(part.value); break;
        case 'month': month = Number(part.value); break;
        case 'day': day = Number(part.value); break;
        case 'hour': hour = Number(part.value); break;
        case 'minute': minute = Number(part.value); break;
        case 'second': second = Number(part.value); break;
        case 'era': bc = part.value === 'BC' || part.value === 'B'; break;
      }
    }
    const local = new Date(0);
    local.setUTCFullYear(bc ? 1 - year : year, month - 1, day);
    local.setUTCHours(hour, minute, second, 0);
    const offset = Math.round((local.getTime() - ms) / 1000);
    // ISO 8601 offsets have minute resolution; local mean time offsets with seconds print as UTC.
    return offset % 60 === 0 ? offset : 0;
  }
}
