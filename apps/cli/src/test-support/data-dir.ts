import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { rentalsPath } from '@ferry/sample-rentals';

/** A fresh data dir holding a copy of the run's sample dataset, so no test pays for generating it. */
export async function seededDataDir(prefix = 'ferry-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const target = rentalsPath(dir);
  await mkdir(join(dir, 'datasets'), { recursive: true });
  await copyFile(inject('rentalsFile'), target);
  return dir;
}
