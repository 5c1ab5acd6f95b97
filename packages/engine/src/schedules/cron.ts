import { FerryError, type FieldPath } from '@ferry/core';

/**
 * Standard 5-field cron, evaluated in UTC: `minute hour day-of-month month day-of-week`.
 * Each field takes `*`, numbers, lists (`1,15`), ranges (`1-5`), steps (`*\/15`, `10-40/10`, `5/20`),
 * and month/day names (`jan`, `mon-fri`). Day-of-week 0 and 7 are both Sunday. As in Vixie cron,
 * when both day fields are restricted a day matches if EITHER does (`0 0 1 * mon`: the 1st and
 * every Monday).
 */
export interface CronSchedule {
  readonly source: string;
  /** The first tick strictly after `after` (to the minute). */
  next(after: Date): Date;
  matches(at: Date): boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const MINUTE_MS = 60_000;
/** A schedule that matches nothing (`0 0 30 2 *`) would loop forever; give up after this long. */
const SEARCH_LIMIT_MS = 5 * 366 * 86_400_000;

/** Parse a cron expression; a mistake is a FerryError VALIDATION_FAILED at `path`. */
export function parseCron(expression: string, path: FieldPath = ['cron']): CronSchedule {
  const source = expression.trim();
  const parts = source.split(/\s+/);
  const fail = (message: string): never => {
    throw new FerryError('VALIDATION_FAILED', `invalid cron "${source}": ${message}`, { path });
  };
  if (parts.length !== 5) fail(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]!, fail));
  const [minutes, hours, days, months, weekdays] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.has(7)) weekdays.add(0);
  const domRestricted = parts[2] !== '*' && !parts[2]!.startsWith('*/');
  const dowRestricted = parts[4] !== '*' && !parts[4]!.startsWith('*/');

  const dayMatches = (at: Date): boolean => {
    const dom = days.has(at.getUTCDate());
    const dow = weekdays.has(at.getUTCDay());
    if (domRestricted && dowRestricted) return dom || dow;
    return dom && dow;
  };
  const matches = (at: Date): boolean =>
    minutes.has(at.getUTCMinutes()) && hours.has(at.getUTCHours()) && months.has(at.getUTCMonth() + 1) && dayMatches(at);

  const next = (after: Date): Date => {
    const t = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
    const limit = after.getTime() + SEARCH_LIMIT_MS;
    // Jump by the coarsest field that does not match, so a search is a few hundred steps at most.
    while (t.getTime() <= limit) {
      if (!months.has(t.getUTCMonth() + 1)) {
        t.setUTCMonth(t.getUTCMonth() + 1, 1);
        t.setUTCHours(0, 0, 0, 0);
      } else if (!dayMatches(t)) {
        t.setUTCDate(t.getUTCDate() + 1);
        t.setUTCHours(0, 0, 0, 0);
      } else if (!hours.has(t.getUTCHours())) {
        t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      } else if (!minutes.has(t.getUTCMinutes())) {
        t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      } else {
        return t;
      }
    }
    throw new FerryError('VALIDATION_FAILED', `cron "${source}" never fires`, { path });
  };

  const schedule: CronSchedule = { source, next, matches };
  schedule.next(new Date(0)); // reject schedules that never fire (`0 0 31 2 *`) when they are parsed
  return schedule;
}

function parseField(text: string, spec: FieldSpec, fail: (message: string) => never): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i.exec(item);
    if (!m) fail(`bad ${spec.name} "${item}"`);
    const [, range, stepText] = m!;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) fail(`bad step in ${spec.name} "${item}"`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = spec.min;
      hi = spec.name === 'day-of-week' ? 6 : spec.max;
    } else {
      const [a, b] = range!.split('-');
      lo = value(a!, spec, fail);
      // `5/20` means from 5 to the end in steps of 20.
      hi = b !== undefined ? value(b, spec, fail) : stepText !== undefined ? spec.max : lo;
      if (lo > hi) fail(`${spec.name} range "${range}" runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

function value(text: string, spec: FieldSpec, fail: (message: string) => never): number {
  const named = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  // Month names count from 1, weekday names from 0 (sun).
  const n = named >= 0 ? named + (spec.name === 'month' ? 1 : 0) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < spec.min || n > spec.max) fail(`${spec.name} "${text}" is outside ${spec.min}-${spec.max}`);
  return n;
}
