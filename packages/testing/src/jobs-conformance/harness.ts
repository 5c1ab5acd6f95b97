import { expect } from 'vitest';
import type { JobStore } from '@ferry/core';

export interface JobStoreConformanceOptions {
  name: string;
  /**
   * Open the store at `location`. Opening the same location again is a restart, or another process
   * sharing the store: it must see the same data. `now` (epoch ms) is the store's clock when given.
   */
  open: (location: string, opts?: { now?: () => number }) => Promise<JobStore>;
  /** A fresh, empty location per call (a SQLite file path, a PostgreSQL schema name, ...). */
  newLocation: () => Promise<string>;
  /** Remove what newLocation made, after the suite (e.g. DROP SCHEMA ... CASCADE). */
  dropLocation?: (location: string) => Promise<void>;
  additionalTests?: () => void;
}

/** Noon UTC on 2025-06-01: far from the wall clock, so a store that ignores the injected clock shows. */
export const T0 = Date.UTC(2025, 5, 1, 12, 0, 0, 0);

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** The store's clock in a test: it moves only when the test says so. */
export class ManualClock {
  private ms: number;

  constructor(start = T0) {
    this.ms = start;
  }

  readonly now = (): number => this.ms;

  advance(ms: number): void {
    this.ms += ms;
  }

  /** The clock's time, shifted by `offsetMs`. */
  at(offsetMs = 0): Date {
    return new Date(this.ms + offsetMs);
  }
}

/** What one test works with: it opens stores through here, and every one of them is closed after it. */
export interface Session {
  /** A fresh, empty location of the test's own. */
  newLocation(): Promise<string>;
  /** Open `location`; with a clock, that clock is the store's. */
  open(location: string, clock?: ManualClock): Promise<JobStore>;
  /** A store on a fresh location with a manual clock at T0. */
  fresh(): Promise<{ store: JobStore; clock: ManualClock; location: string }>;
  /** Close a store now (a restart); the session will not close it again. */
  close(store: JobStore): Promise<void>;
}

/**
 * Binds the suite's options to the tests: `run(fn)` is a test body that gets a `Session`, and
 * `dropAll` removes every location the tests made.
 */
export function sessions(options: JobStoreConformanceOptions) {
  const locations: string[] = [];

  const run =
    (fn: (session: Session) => Promise<void>) =>
    async (): Promise<void> => {
      expect.hasAssertions();
      const open = new Set<JobStore>();
      const session: Session = {
        async newLocation() {
          const location = await options.newLocation();
          locations.push(location);
          return location;
        },
        async open(location, clock) {
          const store = await options.open(location, clock ? { now: clock.now } : undefined);
          open.add(store);
          return store;
        },
        async fresh() {
          const location = await session.newLocation();
          const clock = new ManualClock();
          return { store: await session.open(location, clock), clock, location };
        },
        async close(store) {
          open.delete(store);
          await store.close();
        },
      };
      let outcome: { error: unknown } | null = null;
      try {
        await fn(session);
      } catch (error) {
        outcome = { error };
      }
      const closing = [...open];
      open.clear();
      const closed = await Promise.allSettled(closing.map((store) => store.close()));
      if (outcome) throw outcome.error;
      const failed = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    };

  const dropAll = async (): Promise<void> => {
    const drop = options.dropLocation;
    if (!drop) return;
    for (const location of locations.splice(0)) await drop(location);
  };

  return { run, dropAll };
}

export type Run = ReturnType<typeof sessions>['run'];

/** Ids in a stable order, to compare what a batch call returned as a set. */
export function ids(items: ReadonlyArray<{ id: string }>): string[] {
  return items.map((i) => i.id).sort();
}

export function sorted(values: readonly string[]): string[] {
  return [...values].sort();
}
