import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureRentalsDataset } from '@ferry/sample-rentals';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The sample rentals Parquet file, generated once per test run. */
    rentalsFile: string;
  }
}

/** Generate the sample dataset once for the whole run; tests copy it into their own data dirs. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sample-'));
  project.provide('rentalsFile', await ensureRentalsDataset(dir));
  return () => rm(dir, { recursive: true, force: true });
}
