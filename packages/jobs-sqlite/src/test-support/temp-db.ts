import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A database path in a fresh temporary directory, and a way to remove it. */
export function tempDatabase(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-jobs-sqlite-'));
  return { file: join(dir, 'ferry.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A clock that moves only when told. */
export class TestClock {
  ms: number;

  constructor(start = Date.UTC(2025, 5, 1, 12)) {
    this.ms = start;
  }

  readonly now = (): number => this.ms;

  at(offsetMs = 0): Date {
    return new Date(this.ms + offsetMs);
  }
}
