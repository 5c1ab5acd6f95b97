import { describePostgres, describeQuerySuite, requirePostgres, suiteTableSql } from '@ferry/testing';
import { PostgresSourceOptions } from './options.js';
import { PostgresSource } from './source.js';
import { localOptions, testLogger, withSchema } from './test-support.js';

const service = await requirePostgres();

describePostgres('postgres', service, (server) => {
  let drop: () => Promise<void>;

  describeQuerySuite('postgres over a table', {
    async setup() {
      const created = await withSchema(server, 'ferry_suite');
      drop = created.drop;
      for (const sql of suiteTableSql('postgres', `${created.schema}.rows`)) await created.admin.query(sql);
      // Small batches, so the suite also crosses cursor round trips.
      const source = PostgresSource.create(PostgresSourceOptions.parse(localOptions(server, { batchRows: 7 })), { logger: testLogger });
      return { source, relation: { table: `${created.schema}.rows` } };
    },
    teardown: () => drop(),
  });
});
