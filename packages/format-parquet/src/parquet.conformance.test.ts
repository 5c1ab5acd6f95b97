import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STREAMING_BATCH_ROWS, batchOf, describeFormatConformance, int32Data, utf8Data } from '@ferry/testing/format';
import { parquetFormat } from './index.js';

describeFormatConformance({
  plugin: parquetFormat,
  reader: 'parquet',
  // One row group per test batch, so the streaming cases see row groups leave as they fill.
  streamingOptions: { rowGroupRows: STREAMING_BATCH_ROWS },
  additionalTests: (kit) => {
    const save = async (bytes: Uint8Array, name: string): Promise<string> => {
      const file = join(kit.tempDir(), name);
      await writeFile(file, bytes);
      return file;
    };

    describe('parquet options and layout', () => {
      it('defaults: zstd, 122880-row groups; strict schema', () => {
        expect(parquetFormat.options.parse({})).toEqual({ compression: 'zstd', rowGroupRows: 122_880 });
        expect(() => parquetFormat.options.parse({ compression: 'gzip' })).toThrow();
        expect(() => parquetFormat.options.parse({ rowGroupRows: 0 })).toThrow();
        expect(() => parquetFormat.options.parse({ rowgroups: 5 })).toThrow();
      });

      it('splits rows into row groups of rowGroupRows, with the chosen codec', async () => {
        const n = 2500;
        const batches = [0, 1, 2].map((b) =>
          batchOf([
            ['n', int32Data(Array.from({ length: n }, (_, i) => b * n + i))],
            ['s', utf8Data(Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : `v${i % 13}`)))],
          ]),
        );
        for (const compression of ['zstd', 'snappy'] as const) {
          const file = await save(await kit.writeAll(batches[0]!.schema, batches, { rowGroupRows: 1000, compression }), `groups-${compression}.parquet`);
          const duck = kit.duckdb();
          const groups = await duck.query(`SELECT row_group_id, max(row_group_num_rows), max(compression) FROM parquet_metadata('${file}') GROUP BY ALL ORDER BY 1`);
          expect(groups.map((g) => Number(g[1]))).toEqual([1000, 1000, 1000, 1000, 1000, 1000, 1000, 500]);
          expect(new Set(groups.map((g) => g[2]))).toEqual(new Set([compression.toUpperCase()]));
          expect(await duck.query(`SELECT count(*), count(s), sum(n) FROM read_parquet('${file}')`)).toEqual([[7500n, BigInt(3 * (n - Math.ceil(n / 7))), BigInt((7500 * 7499) / 2)]]);
        }
      });

      it('dictionary-encodes strings under snappy only: zstd finds their repeats without one', async () => {
        const batch = batchOf([['s', utf8Data(Array.from({ length: 5000 }, (_, i) => `city ${i % 8}`))]]);
        const encodings = async (compression: 'zstd' | 'snappy'): Promise<string> => {
          const file = await save(await kit.writeAll(batch.schema, [batch], { compression }), `dict-${compression}.parquet`);
          const rows = await kit.duckdb().query(`SELECT string_agg(encodings, ',') FROM parquet_metadata('${file}') WHERE path_in_schema = 's'`);
          return String(rows[0]![0]);
        };
        expect(await encodings('zstd')).not.toMatch(/DICTIONARY/);
        expect(await encodings('snappy')).toMatch(/DICTIONARY/);
      });

      it('replaces invalid UTF-8 with U+FFFD instead of failing', async () => {
        const raw = utf8Data(['ok']);
        // CESU-8 encoded lone surrogate (ED A0 80) is invalid UTF-8.
        const bad = raw.clone(raw.type, 0, 1, 0, [Int32Array.of(0, 4), Uint8Array.of(0x61, 0xed, 0xa0, 0x80), undefined, undefined] as never);
        const batch = batchOf([['s', bad]]);
        const file = await save(await kit.writeAll(batch.schema, [batch]), 'utf8.parquet');
        const [[s]] = (await kit.duckdb().query(`SELECT s FROM read_parquet('${file}')`)) as [[string]];
        expect(s.startsWith('a\ufffd')).toBe(true);
      });

      it('propagates a source error instead of closing a truncated file', async () => {
        const writer = await kit.createWriter({ rowGroupRows: 10 });
        const batch = batchOf([['n', int32Data(Array.from({ length: 25 }, (_, i) => i))]]);
        async function* failing(): AsyncGenerator<typeof batch> {
          yield batch;
          yield batch;
          throw new Error('source broke');
        }
        const consume = async (): Promise<void> => {
          for await (const _chunk of writer.write(batch.schema, failing(), { signal: new AbortController().signal })) {
            // drain
          }
        };
        await expect(consume()).rejects.toThrow('source broke');
      });
    });
  },
});
