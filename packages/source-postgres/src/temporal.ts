/**
 * PostgreSQL's ISO text forms (DateStyle=ISO, TimeZone=UTC) to Arrow's integers, with integer
 * arithmetic only: no JS Date, so no time zone or millisecond rounding ever touches a value.
 */

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DATE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/;
const TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::(\d{2})(?::(\d{2}))?)?)?( BC)?$/;

/** `YYYY-MM-DD[ BC]` to days since the epoch; null for `infinity` and anything else unrepresentable. */
export function parseDate(text: string): number | null {
  const m = DATE.exec(text);
  if (!m) return null;
  // 1 BC is year 0 in the proleptic calendar Arrow uses.
  const year = m[4] ? 1 - Number(m[1]) : Number(m[1]);
  return daysFromCivil(year, Number(m[2]), Number(m[3]));
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]` to microseconds since the epoch (UTC); null
 * beyond int64 (PostgreSQL's last years, up to 294276 AD, overflow once moved to the 1970 epoch).
 */
export function parseTimestamp(text: string): bigint | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const year = m[12] ? 1 - Number(m[1]) : Number(m[1]);
  const days = daysFromCivil(year, Number(m[2]), Number(m[3]));
  let seconds = days * 86_400 + Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]);
  if (m[8]) {
    const offset = Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0);
    seconds -= m[8] === '-' ? -offset : offset;
  }
  const micros = m[7] ? Number(m[7].padEnd(6, '0')) : 0;
  const value = BigInt(seconds) * 1_000_000n + BigInt(micros);
  return value < INT64_MIN || value > INT64_MAX ? null : value;
}
