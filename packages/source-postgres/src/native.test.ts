import { tmpdir } from 'node:os';
// Tests only: pushdown must match the default writers byte for byte, so it is checked against them.
import { csvFormat } from '@ferry/format-csv';
import { jsonlFormat } from '@ferry/format-jsonl';
import { describeNativeExport, describePostgres, describePushdownOption, exportTableSql, requirePostgres } from '@ferry/testing';
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

  describePushdownOption('PostgreSQL', {
    create: (options) => PostgresSource.create(PostgresSourceOptions.parse({ ...localOptions(server), ...options }), { logger: testLogger }),
    options: PostgresSourceOptions,
    all: ['csv', 'jsonl'],
    // The Arrow path writes JSON Lines faster than the server's per-row JSON expressions.
    byDefault: ['csv'],
  });
});
