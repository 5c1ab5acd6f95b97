import { tmpdir } from 'node:os';
// Tests only: pushdown must match the default writers byte for byte, so it is checked against them.
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';
import { createCatalog, DatasetDefinition, resolveQuery } from '@ferry/core';
import { describeNativeExport, describePostgres, exportTableSql, requirePostgres } from '@ferry/testing';
import { describe, expect, it } from 'vitest';
import { PostgresSourceOptions } from './options.js';
import { PostgresSource } from './source.js';
import { localOptions, testLogger, withSchema } from './test-support.js';

const service = await requirePostgres();
const ctx = { logger: testLogger, dataDir: tmpdir() };
const writers = { csv: await csvFormat.create(csvFormat.options.parse({}), ctx), jsonl: await jsonlFormat.create(jsonlFormat.options.parse({}), ctx) };

describePostgres('postgres', service, (server) => {
  let drop: () => Promise<void>;
  describeNativeExport('postgres', {
    writers,
    pushesDownDoubles: true,
    sameBytes: ['csv', 'jsonl'],
    async setup() {
      const created = await withSchema(server, 'ferry_native');
      drop = created.drop;
      for (const sql of exportTableSql('postgres', `${created.schema}.exports`)) await created.admin.query(sql);
      const source = PostgresSource.create(PostgresSourceOptions.parse({ ...localOptions(server), pushdown: true }), { logger: testLogger });
      return { source, relation: { table: `${created.schema}.exports` } };
    },
    teardown: () => drop(),
  });

  describe('which formats PostgreSQL writes itself', () => {
    const dataset = DatasetDefinition.parse({ key: 't', relation: { sql: 'SELECT 1 AS x' }, columns: [{ name: 'x', type: 'integer', role: 'dimension' }] });
    const query = resolveQuery(createCatalog([dataset]), { scopes: [{ column: 'x' }] });
    const pushedDown = async (options: Record<string, unknown>): Promise<string[]> => {
      const source = PostgresSource.create(PostgresSourceOptions.parse({ ...localOptions(server), ...options }), { logger: testLogger });
      const formats: string[] = [];
      try {
        for (const format of ['csv', 'jsonl', 'parquet']) {
          const native = await source.exportNative(query, format, { signal: new AbortController().signal });
          if (!native) continue;
          for await (const chunk of native.body) expect(chunk.length).toBeGreaterThan(0);
          expect(await native.rows).toBe(1);
          formats.push(format);
        }
        expect(source.activeStreams).toBe(0);
      } finally {
        await source.close();
      }
      return formats;
    };

    it('by default csv only: the Arrow path writes JSON Lines faster than the server', async () => {
      expect(await pushedDown({})).toEqual(['csv']);
    });

    it('both it can with true, none with false, the listed ones otherwise; never a format it does not know', async () => {
      expect(await pushedDown({ pushdown: true })).toEqual(['csv', 'jsonl']);
      expect(await pushedDown({ pushdown: false })).toEqual([]);
      expect(await pushedDown({ pushdown: ['jsonl'] })).toEqual(['jsonl']);
    });

    it('refuses a format name it does not write in its options, naming the option', () => {
      const parsed = PostgresSourceOptions.safeParse({ pushdown: ['csv', 'parquet'] });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['pushdown']);
    });
  });
});
