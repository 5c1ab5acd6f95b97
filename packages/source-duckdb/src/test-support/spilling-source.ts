/**
 * A DuckDB source in a process of its own, holding a spilled sort open, for tests that kill it
 * (SIGKILL): `node --import tsx spilling-source.ts <dataDir>`. Prints "spilled" once it has.
 */
import { mkdir } from 'node:fs/promises';
import { createCatalog, resolveQuery } from '@ferry/core';
import { DuckDBSourceOptions } from '../options.js';
import { DuckDBSource } from '../source.js';
import { WIDE_SORT_QUERY, wideSortDataset } from './wide-sort.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: spilling-source.ts <dataDir>');
await mkdir(dataDir, { recursive: true });
const source = await DuckDBSource.create(DuckDBSourceOptions.parse({ memoryLimit: '48MB', threads: 2 }), { dataDir });
const stream = await source.open(resolveQuery(createCatalog([wideSortDataset()]), WIDE_SORT_QUERY), { signal: new AbortController().signal });
const rows = stream.batches[Symbol.asyncIterator]();
await rows.next();
process.stdout.write('spilled\n');
// Hold the result (and its spill files) until killed.
setInterval(() => undefined, 1000);
