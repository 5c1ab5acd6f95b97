import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordBatch, Schema } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectBytes, silentLogger, type FormatWriter, type PluginDefinition } from '@ferry/core';
import { batchOf, int32Data, utf8Data } from './arrow-build.js';
import { DuckDbReader, isTypedReader, type ReadColumn, type ReaderKind } from './duckdb-reader.js';
import { type Comparable, type FixtureColumn, fixtureBatches, fixtureColumns, wideColumns } from './fixture.js';

/** Helpers handed to `additionalTests` so plugin-specific tests reuse the suite's plumbing. */
export interface FormatTestKit {
  /** Create a writer with the given raw options (parsed by the plugin's schema). */
  createWriter(options?: unknown): Promise<FormatWriter>;
  /** Write batches and collect the bytes. */
  writeAll(schema: Schema, batches: readonly RecordBatch[], options?: unknown): Promise<Buffer>;
  /** The shared fixture (fresh each call). */
  fixture(): { columns: FixtureColumn[]; batches: RecordBatch[] };
  /** A temporary directory removed after the suite. */
  tempDir(): string;
  /** DuckDB, open for the duration of the suite. */
  duckdb(): DuckDbReader;
}

/**
 * How the suite reads a file back when DuckDB cannot read the format as it is: convert it and let
 * DuckDB read the result, or use another reader you did not write. Never the plugin's own code.
 */
export interface FormatReadBack {
  /** The file carries column types: the suite then checks them with `describe`. */
  typed: boolean;
  /** Rows of `columns` (their `select` expressions, `x` standing for the column) in file order, or by `orderBy`. */
  read(file: string, columns: readonly ReadColumn[], orderBy: string | undefined, duckdb: DuckDbReader): Promise<Comparable[][]>;
  /** Column names and DuckDB type names; required when `typed`. */
  describe?(file: string, duckdb: DuckDbReader): Promise<Array<{ name: string; type: string }>>;
  /** Rows are held back until a block fills (like Parquet row groups); the streaming case then checks when bytes come out. */
  buffersRows?: boolean;
}

/** A reader kind DuckDB knows, as a read-back. */
function duckdbReadBack(kind: ReaderKind): FormatReadBack {
  return {
    typed: isTypedReader(kind),
    read: (file, columns, orderBy, duck) => duck.read(kind, file, columns, orderBy),
    describe: (file, duck) => duck.describe(kind, file),
    buffersRows: kind === 'parquet',
  };
}

export interface FormatConformanceOptions {
  plugin: PluginDefinition<'format'>;
  /** Raw plugin options for the shared cases; the reader expects the format's default dialect. */
  options?: unknown;
  /**
   * How DuckDB reads the output back: `csv` (header, `,`, RFC 4180 quoting), `json` (newline-delimited),
   * `parquet`, or `arrow` (IPC stream; converted to Parquet by arrow-rs, see arrow-ipc-reader.ts).
   * For `parquet` and `arrow` the column types DuckDB sees are checked as well as the values.
   * A format DuckDB cannot read passes a `FormatReadBack` instead.
   */
  reader: ReaderKind | FormatReadBack;
  /**
   * Options for the streaming and abort cases (default: `options`). A format that buffers rows before
   * writing them (Parquet row groups) sets its buffer to one test batch (STREAMING_BATCH_ROWS rows),
   * so that "output starts before the input is exhausted" is observable with a few batches.
   */
  streamingOptions?: unknown;
  additionalTests?: (kit: FormatTestKit) => void;
}

/** Rows per batch of the streaming cases' source. */
export const STREAMING_BATCH_ROWS = 4000;

/**
 * The conformance suite every format plugin runs. Values are checked by reading the output back
 * with DuckDB (never with the plugin's own code), so "equal" means equal to an independent reader.
 */
export function describeFormatConformance(opts: FormatConformanceOptions): void {
  const { plugin } = opts;
  // The kind DuckDB reads, when it is one: JSON's numbers need the decimal workaround below.
  const reader = typeof opts.reader === 'string' ? opts.reader : undefined;
  const readBack = typeof opts.reader === 'string' ? duckdbReadBack(opts.reader) : opts.reader;
  const typed = readBack.typed;
  // Parquet keeps rows until a row group is full and its prefix is not readable without the footer:
  // the streaming cases then check when bytes come out instead of finding a marker in them.
  const rowGroups = readBack.buffersRows ?? false;
  const streamingOptions = opts.streamingOptions ?? opts.options;
  describe(`format conformance: ${plugin.name}`, () => {
    let dir = '';
    const duck = new DuckDbReader();
    let fileNo = 0;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `ferry-format-${plugin.name}-`));
      await duck.open();
    });
    afterAll(async () => {
      duck.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const createWriter = async (options: unknown = opts.options): Promise<FormatWriter> =>
      plugin.create(plugin.options.parse(options ?? {}), { logger: silentLogger, dataDir: dir });

    const writeAll = async (schema: Schema, batches: readonly RecordBatch[], options?: unknown): Promise<Buffer> => {
      const writer = await createWriter(options);
      return collectBytes(writer.write(schema, fromArray(batches), { signal: new AbortController().signal }));
    };

    const saveFile = async (bytes: Uint8Array, writer: FormatWriter): Promise<string> => {
      const file = join(dir, `out-${++fileNo}.${writer.extension}`);
      await writeFile(file, bytes);
      return file;
    };

    const writeAndRead = async (columns: FixtureColumn[], batches: RecordBatch[], orderBy?: string): Promise<{ rows: Comparable[][]; text: string; file: string }> => {
      const writer = await createWriter();
      const schema = batches[0]?.schema ?? batchOf(columns.map((c) => [c.name, c.data] as const)).schema;
      const bytes = await collectBytes(writer.write(schema, fromArray(batches), { signal: new AbortController().signal }));
      const file = await saveFile(bytes, writer);
      const readable = columns.map((c) => (reader === 'json' && c.decimal ? { ...c, duckType: 'DOUBLE', select: 'x' } : c));
      return { rows: await readBack.read(file, readable, orderBy, duck), text: bytes.toString('utf8'), file };
    };

    const kit: FormatTestKit = {
      createWriter,
      writeAll,
      fixture: () => {
        const columns = fixtureColumns();
        return { columns, batches: fixtureBatches(columns) };
      },
      tempDir: () => dir,
      duckdb: () => duck,
    };

    it('names its media type and file extension', async () => {
      const writer = await createWriter();
      expect(writer.name).toBe(plugin.name);
      expect(writer.mediaType.length).toBeGreaterThan(0);
      expect(writer.extension.length).toBeGreaterThan(0);
      expect(writer.extension.startsWith('.')).toBe(false);
      expect(typeof writer.compressible).toBe('boolean');
    });

    it('round-trips every column type exactly through DuckDB', async () => {
      const columns = fixtureColumns();
      const { rows, text, file } = await writeAndRead(columns, fixtureBatches(columns), 'id');
      if (typed) {
        // The file carries the types: DuckDB must see exactly the declared ones (DATE, DECIMAL(18,4),
        // TIMESTAMP WITH TIME ZONE for zoned timestamps, TIMESTAMP_NS, SMALLINT ...).
        if (!readBack.describe) throw new Error('a typed read-back needs describe()');
        const described = await readBack.describe(file, duck);
        expect(described).toEqual(columns.map((c) => ({ name: c.name, type: duckTypeName(c.duckType) })));
      }
      expect(rows).toHaveLength(columns[0]!.expected.length);
      columns.forEach((col, c) => {
        const actual = rows.map((row) => row[c] ?? null);
        if (reader === 'json' && col.decimal) {
          // DuckDB's JSON reader parses every number as a double (checked: 12345678901234.5678 comes back
          // as ...5680), so it cannot verify decimal digits. Check the digits in the raw text instead,
          // and DuckDB's value at double precision.
          expect(actual, col.name).toEqual(col.expected.map((v) => (v === null ? null : Number(v))));
          expect(rawJsonNumbers(text, col.name).map(normalizeDecimal), `${col.name} (raw text)`).toEqual(
            sortedById(text, col.expected).map((v) => (v === null ? null : normalizeDecimal(String(v)))),
          );
          return;
        }
        expect(actual, col.name).toEqual(col.expected);
      });
    });

    it('writes 64-bit integers beyond 2^53 with every digit', async () => {
      const columns = fixtureColumns();
      const { text, rows } = await writeAndRead(columns, fixtureBatches(columns), 'id');
      const big = columns.findIndex((c) => c.name === 'big');
      expect(rows.map((r) => r[big])).toContain(9007199254740993n);
      expect(rows.map((r) => r[big])).toContain(-9223372036854775808n);
      if (!typed) {
        // Text formats: the digits themselves, not a double's rounding of them.
        expect(text).toContain('9007199254740993');
        expect(text).toContain('-9223372036854775808');
      }
    });

    it('writes zero rows as a valid file that reads back as 0 rows', async () => {
      const columns = fixtureColumns();
      const schema = fixtureBatches(columns)[0]!.schema;
      const writer = await createWriter();
      const bytes = await collectBytes(writer.write(schema, fromArray([]), { signal: new AbortController().signal }));
      const file = await saveFile(bytes, writer);
      const readable = columns.map((c) => (reader === 'json' && c.decimal ? { ...c, duckType: 'DOUBLE' } : c));
      expect(await readBack.read(file, readable, undefined, duck)).toEqual([]);
    });

    it('writes a wide row (300 columns)', async () => {
      const columns = wideColumns(300);
      const batch = batchOf(columns.map((c) => [c.name, c.data] as const));
      const { rows } = await writeAndRead(columns, [batch]);
      expect(rows).toEqual([columns.map((c) => c.expected[0])]);
    });

    it('streams: output starts before the input is exhausted', async () => {
      const source = countingSource(6, STREAMING_BATCH_ROWS);
      const writer = await createWriter(streamingOptions);
      let firstChunkAt = -1;
      let batch0SeenAt = -1;
      let seen = '';
      for await (const chunk of writer.write(source.schema, source.iterable, { signal: new AbortController().signal })) {
        if (firstChunkAt < 0) firstChunkAt = source.pulled;
        expect(source.finished).toBe(false);
        if (rowGroups) {
          // The first row group (one batch) is out: stop at the first chunk after batch 0 was read.
          if (source.pulled >= 1) break;
          continue;
        }
        seen += Buffer.from(chunk).toString('latin1');
        if (batch0SeenAt < 0 && seen.includes(marker(0))) batch0SeenAt = source.pulled;
        if (batch0SeenAt >= 0) break;
      }
      expect(firstChunkAt).toBeGreaterThanOrEqual(0);
      if (rowGroups) {
        // Row group 0 came out while at most two more batches had been read ahead (arrow-rs reads
        // one batch ahead of the one it encodes).
        expect(firstChunkAt).toBeLessThanOrEqual(3);
      } else {
        // Batch 0 reached the output while at most one more batch had been read ahead.
        expect(batch0SeenAt).toBeGreaterThanOrEqual(1);
        expect(batch0SeenAt).toBeLessThanOrEqual(2);
      }
      expect(source.released).toBe(true);
    });

    it('stops within one batch when aborted, and releases the input', async () => {
      const source = countingSource(10, STREAMING_BATCH_ROWS);
      const writer = await createWriter(streamingOptions);
      const controller = new AbortController();
      let pulledAtAbort = -1;
      const consume = async (): Promise<void> => {
        for await (const _chunk of writer.write(source.schema, source.iterable, { signal: controller.signal })) {
          if (pulledAtAbort < 0 && source.pulled > 0) {
            pulledAtAbort = source.pulled;
            controller.abort(new Error('stop here'));
          }
        }
      };
      await expect(consume()).rejects.toThrow();
      expect(pulledAtAbort).toBeGreaterThan(0);
      expect(pulledAtAbort).toBeLessThan(10);
      expect(source.pulled).toBeLessThanOrEqual(pulledAtAbort + 1);
      expect(source.released).toBe(true);
    });

    it('refuses to start when the signal is already aborted', async () => {
      const source = countingSource(3, 10);
      const writer = await createWriter();
      const controller = new AbortController();
      controller.abort(new Error('cancelled'));
      await expect(collectBytes(writer.write(source.schema, source.iterable, { signal: controller.signal }))).rejects.toThrow();
      expect(source.pulled).toBe(0);
    });

    opts.additionalTests?.(kit);
  });
}

async function* fromArray(batches: readonly RecordBatch[]): AsyncGenerator<RecordBatch> {
  for (const b of batches) yield b;
}

function marker(batch: number): string {
  return `marker-of-batch-${batch}`;
}

/** DuckDB's DESCRIBE spelling of a type name. */
function duckTypeName(type: string): string {
  return type === 'TIMESTAMPTZ' ? 'TIMESTAMP WITH TIME ZONE' : type;
}

/** A lazy source that records how far it was pulled and whether it was closed. */
function countingSource(batches: number, rows: number) {
  const state = { pulled: 0, finished: false, released: false };
  const make = (b: number): RecordBatch =>
    batchOf([
      ['n', int32Data(Array.from({ length: rows }, (_, i) => b * rows + i))],
      // Labels vary enough that one batch stays larger than small write buffers (8 KiB) once compressed.
      ['label', utf8Data(Array.from({ length: rows }, (_, i) => (i === 0 ? marker(b) : `row ${i} ${((b * rows + i) * 2654435761 >>> 0).toString(36)}`)))],
    ]);
  const schema = make(0).schema;
  async function* gen(): AsyncGenerator<RecordBatch> {
    try {
      for (let b = 0; b < batches; b++) {
        state.pulled++;
        // A real source awaits I/O between batches.
        await new Promise((resolve) => setImmediate(resolve));
        yield make(b);
      }
      state.finished = true;
    } finally {
      state.released = true;
    }
  }
  return {
    schema,
    iterable: gen(),
    get pulled() {
      return state.pulled;
    },
    get finished() {
      return state.finished;
    },
    get released() {
      return state.released;
    },
  };
}

/** The raw number text of `"key":<number>` on each line (null for `null`), in file order. */
function rawJsonNumbers(text: string, key: string): (string | null)[] {
  const pattern = new RegExp(`${escapeRegExp(JSON.stringify(key))}\\s*:\\s*(null|-?[0-9][0-9.eE+-]*)`);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const m = pattern.exec(line);
      if (!m) throw new Error(`no ${key} in line ${line}`);
      return m[1] === 'null' ? null : m[1]!;
    });
}

/** Expected values in file order: the fixture is written in id order, so file order is id order. */
function sortedById<T>(_text: string, expected: T[]): T[] {
  return expected;
}

/** `1.5000` and `1.5` name the same decimal; `-0.0000` is `0`. */
function normalizeDecimal(text: string | null): string | null {
  if (text === null) return null;
  let t = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
  if (/^-0$/.test(t)) t = '0';
  return t;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
