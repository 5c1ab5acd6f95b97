import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { parseCron } from './cron.js';

/*
 * The corners of the cron dialect that cron.test.ts leaves open: what counts as a restricted day
 * field, where each jump of the search lands, names, and the exact errors an operator reads.
 */

const next = (expr: string, after: string) => parseCron(expr).next(new Date(after)).toISOString();

function errorOf(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    return err as FerryError;
  }
  throw new Error('expected a FerryError');
}

describe('parseCron: day fields', () => {
  // 2025-03-01 is a Saturday; 2025-03-03 a Monday.
  it('treats a stepped star as unrestricted, so both day fields must match', () => {
    expect(next('0 0 */2 * mon', '2025-03-01T00:00:00Z')).toBe('2025-03-03T00:00:00.000Z');
    expect(next('0 0 */2 * mon', '2025-03-03T00:00:00Z')).toBe('2025-03-17T00:00:00.000Z');
    expect(next('0 0 1 * */2', '2025-03-02T00:00:00Z')).toBe('2025-04-01T00:00:00.000Z');
  });

  it('matches either day field when both are restricted', () => {
    const cron = parseCron('0 0 15 * fri');
    expect(cron.matches(new Date('2025-03-15T00:00:00Z'))).toBe(true); // Saturday the 15th
    expect(cron.matches(new Date('2025-03-07T00:00:00Z'))).toBe(true); // Friday the 7th
    expect(cron.matches(new Date('2025-03-08T00:00:00Z'))).toBe(false);
  });

  it('matches only the listed day when one day field is a star', () => {
    const dom = parseCron('0 0 15 * *');
    expect(dom.matches(new Date('2025-03-15T00:00:00Z'))).toBe(true);
    expect(dom.matches(new Date('2025-03-14T00:00:00Z'))).toBe(false);
    const dow = parseCron('0 0 * * sat');
    expect(dow.matches(new Date('2025-03-15T00:00:00Z'))).toBe(true);
    expect(dow.matches(new Date('2025-03-14T00:00:00Z'))).toBe(false);
  });

  it('checks every field in matches: minute, hour and month too', () => {
    const cron = parseCron('30 6 * mar *');
    expect(cron.matches(new Date('2025-03-09T06:30:00Z'))).toBe(true);
    expect(cron.matches(new Date('2025-03-09T06:31:00Z'))).toBe(false);
    expect(cron.matches(new Date('2025-03-09T07:30:00Z'))).toBe(false);
    expect(cron.matches(new Date('2025-04-09T06:30:00Z'))).toBe(false);
  });

  it('counts weekday names from Sunday and month names from January, in any case', () => {
    expect(next('0 0 * * SUN', '2025-03-01T00:00:00Z')).toBe('2025-03-02T00:00:00.000Z');
    expect(next('0 0 * * sat', '2025-03-01T00:00:00Z')).toBe('2025-03-08T00:00:00.000Z');
    expect(next('0 0 1 Jan *', '2025-03-01T00:00:00Z')).toBe('2026-01-01T00:00:00.000Z');
    expect(next('0 0 1 dec *', '2025-03-01T00:00:00Z')).toBe('2025-12-01T00:00:00.000Z');
    expect(next('0 0 * * thu-fri', '2025-03-03T00:00:00Z')).toBe('2025-03-06T00:00:00.000Z');
  });
});

describe('parseCron: the search', () => {
  it('starts a new hour at minute 0 and a new day at midnight', () => {
    expect(next('0-5 * * * *', '2025-03-01T10:05:00Z')).toBe('2025-03-01T11:00:00.000Z');
    expect(next('* 4 * * *', '2025-03-01T04:59:00Z')).toBe('2025-03-02T04:00:00.000Z');
    expect(next('*/20 4 2 * *', '2025-03-01T23:10:00Z')).toBe('2025-03-02T04:00:00.000Z');
  });

  it('starts a new month on its first day at midnight', () => {
    expect(next('* * * apr *', '2025-03-31T12:34:00Z')).toBe('2025-04-01T00:00:00.000Z');
  });

  it('finds a tick four years away', () => {
    expect(next('0 0 29 2 *', '2024-02-29T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('keeps the trimmed expression as its source', () => {
    expect(parseCron('  0   3 * * *  ').source).toBe('0   3 * * *');
  });
});

describe('parseCron: messages', () => {
  it.each([
    ['* * * *', 'invalid cron "* * * *": expected 5 fields (minute hour day-of-month month day-of-week), got 4'],
    ['* * * * * *', 'invalid cron "* * * * * *": expected 5 fields (minute hour day-of-month month day-of-week), got 6'],
    ['* 25 * * *', 'invalid cron "* 25 * * *": hour "25" is outside 0-23'],
    ['* * 32 * *', 'invalid cron "* * 32 * *": day-of-month "32" is outside 1-31'],
    ['* * * 0 *', 'invalid cron "* * * 0 *": month "0" is outside 1-12'],
    ['* * * * sun-mon-tue', 'invalid cron "* * * * sun-mon-tue": bad day-of-week "sun-mon-tue"'],
    ['*/x * * * *', 'invalid cron "*/x * * * *": bad minute "*/x"'],
    ['1-2/0 * * * *', 'invalid cron "1-2/0 * * * *": bad step in minute "1-2/0"'],
    ['* * * * fri-mon', 'invalid cron "* * * * fri-mon": day-of-week range "fri-mon" runs backwards'],
    ['* * * * jan', 'invalid cron "* * * * jan": day-of-week "jan" is outside 0-7'],
    ['0 0 31 4 *', 'cron "0 0 31 4 *" never fires'],
  ])('%s', (expr, message) => {
    const err = errorOf(() => parseCron(expr));
    expect(err.message).toBe(message);
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED', path: ['cron'] });
  });

  it('accepts the edges of every range', () => {
    // Both day fields restricted: the 31st or any Sunday, in December.
    expect(next('59 23 31 12 7', '2025-01-01T00:00:00Z')).toBe('2025-12-07T23:59:00.000Z');
    expect(next('0 0 1 1 0', '2025-01-01T00:00:00Z')).toBe('2025-01-05T00:00:00.000Z');
  });
});
