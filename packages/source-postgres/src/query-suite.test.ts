import { describePostgres, describeQuerySuite, requirePostgres, suiteTableSql } from '@ferry/testing';
import { PostgresSourceOptions } from './options.js';
import { PostgresSource } from './source.js';
import { localOptions, testLogger, withSchema } from './test-support.js';

const service = await requirePostgres();

/** In binary mode every suite query must really read binary COPY: a fallback to text fails the query. */
const binaryOnly = {
  ...testLogger,
  debug(obj: object | string, msg?: string) {
    if (msg?.includes('reading this query as text')) throw new Error(`unexpected text fallback: ${JSON.stringify(obj)}`);
  },
};

describePostgres('postgres', service, (server) => {
  for (const readMode of ['binary', 'text'] as const) {
    let drop: () => Promise<void>;

    describeQuerySuite(`postgres over a table, ${readMode} reads`, {
      async setup() {
        const created = await withSchema(server, 'ferry_suite');
        drop = created.drop;
        for (const sql of suiteTableSql('postgres', `${created.schema}.rows`)) await created.admin.query(sql);
        // Small batches, so the suite also crosses batch (and cursor round trip) boundaries.
        const source = PostgresSource.create(PostgresSourceOptions.parse(localOptions(server, { batchRows: 7, readMode })), {
          logger: readMode === 'binary' ? binaryOnly : testLogger,
        });
        return { source, relation: { table: `${created.schema}.rows` } };
      },
      teardown: () => drop(),
    });
  }
});
