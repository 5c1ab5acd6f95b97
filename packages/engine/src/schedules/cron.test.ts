import { describe, expect, it } from 'vitest';
import { parseCron } from './cron.js';

const at = (iso: string) => new Date(iso);
/** The next `n` ticks after `from`, as ISO strings. */
function ticks(expr: string, from: string, n: number): string[] {
  const cron = parseCron(expr);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    t = cron.next(t);
    out.push(t.toISOString());
  }
  return out;
}

describe('parseCron: next run', () => {
  it('every minute, strictly after the given time, to the minute', () => {
    expect(ticks('* * * * *', '2025-01-01T10:00:30.500Z', 3)).toEqual(['2025-01-01T10:01:00.000Z', '2025-01-01T10:02:00.000Z', '2025-01-01T10:03:00.000Z']);
    expect(ticks('* * * * *', '2025-01-01T10:00:00.000Z', 1)).toEqual(['2025-01-01T10:01:00.000Z']);
  });

  it('steps, lists and ranges', () => {
    expect(ticks('*/15 * * * *', '2025-01-01T10:07:00Z', 4)).toEqual([
      '2025-01-01T10:15:00.000Z',
      '2025-01-01T10:30:00.000Z',
      '2025-01-01T10:45:00.000Z',
      '2025-01-01T11:00:00.000Z',
    ]);
    expect(ticks('5,35 9-10 * * *', '2025-01-01T00:00:00Z', 5)).toEqual([
      '2025-01-01T09:05:00.000Z',
      '2025-01-01T09:35:00.000Z',
      '2025-01-01T10:05:00.000Z',
      '2025-01-01T10:35:00.000Z',
      '2025-01-02T09:05:00.000Z',
    ]);
    expect(ticks('10-40/10 0 * * *', '2025-01-01T00:00:00Z', 5)).toEqual([
      '2025-01-01T00:10:00.000Z',
      '2025-01-01T00:20:00.000Z',
      '2025-01-01T00:30:00.000Z',
      '2025-01-01T00:40:00.000Z',
      '2025-01-02T00:10:00.000Z',
    ]);
    expect(ticks('50/5 0 1 1 *', '2025-01-01T00:00:00Z', 3)).toEqual(['2025-01-01T00:50:00.000Z', '2025-01-01T00:55:00.000Z', '2026-01-01T00:50:00.000Z']);
  });

  it('crosses month and year ends, skips short months, and finds leap days', () => {
    expect(ticks('0 0 31 * *', '2025-01-31T00:00:00Z', 3)).toEqual(['2025-03-31T00:00:00.000Z', '2025-05-31T00:00:00.000Z', '2025-07-31T00:00:00.000Z']);
    expect(ticks('0 12 29 2 *', '2025-01-01T00:00:00Z', 2)).toEqual(['2028-02-29T12:00:00.000Z', '2032-02-29T12:00:00.000Z']);
    expect(ticks('59 23 31 12 *', '2025-12-31T23:59:00Z', 1)).toEqual(['2026-12-31T23:59:00.000Z']);
  });

  it('weekdays by number and name; 7 is Sunday; restricted day-of-month OR day-of-week', () => {
    // 2025-01-01 is a Wednesday.
    expect(ticks('0 9 * * mon-fri', '2025-01-03T10:00:00Z', 2)).toEqual(['2025-01-06T09:00:00.000Z', '2025-01-07T09:00:00.000Z']);
    expect(ticks('0 0 * * 7', '2025-01-01T00:00:00Z', 1)).toEqual(['2025-01-05T00:00:00.000Z']);
    expect(ticks('0 0 * * 0', '2025-01-01T00:00:00Z', 1)).toEqual(['2025-01-05T00:00:00.000Z']);
    expect(ticks('0 0 1 * mon', '2025-01-01T00:00:00Z', 3)).toEqual(['2025-01-06T00:00:00.000Z', '2025-01-13T00:00:00.000Z', '2025-01-20T00:00:00.000Z']);
    expect(ticks('0 0 1 * mon', '2025-01-27T00:00:00Z', 2)).toEqual(['2025-02-01T00:00:00.000Z', '2025-02-03T00:00:00.000Z']);
    expect(ticks('0 0 * jan,JUL *', '2025-02-01T00:00:00Z', 1)).toEqual(['2025-07-01T00:00:00.000Z']);
  });

  it('matches', () => {
    const cron = parseCron('30 6 * * 1');
    expect(cron.matches(at('2025-01-06T06:30:00Z'))).toBe(true);
    expect(cron.matches(at('2025-01-07T06:30:00Z'))).toBe(false);
  });
});

describe('parseCron: errors', () => {
  it.each([
    ['* * * *', /expected 5 fields/],
    ['60 * * * *', /minute "60" is outside 0-59/],
    ['* 24 * * *', /hour/],
    ['* * 0 * *', /day-of-month/],
    ['* * * 13 *', /month/],
    ['* * * * 8', /day-of-week/],
    ['*/0 * * * *', /bad step/],
    ['5-1 * * * *', /backwards/],
    ['a * * * *', /minute/],
    ['* * * foo *', /month "foo"/],
    ['1,,2 * * * *', /bad minute/],
    ['0 0 30 2 *', /never fires/],
  ])('%s', (expr, message) => {
    expect(() => parseCron(expr, ['datasets', 0, 'versioning', 'schedule'])).toThrowError(message);
    try {
      parseCron(expr, ['x']);
    } catch (err) {
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', path: ['x'] });
    }
  });
});
