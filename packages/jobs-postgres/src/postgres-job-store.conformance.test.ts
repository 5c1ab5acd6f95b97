import { expect, it } from 'vitest';
import { PluginRegistry, silentLogger } from '@ferry/core';
import { describeJobStoreConformance, describePostgres, requirePostgres } from '@ferry/testing';
import { postgresJobs, PostgresJobStore } from './index.js';
import { dropSchemas, newSchemaName } from './test-support.js';

const service = await requirePostgres();

describePostgres('postgres job store', service, (server) => {
  describeJobStoreConformance({
    name: 'postgres',
    // A location is a schema of the test database; opening it again is another process sharing it.
    newLocation: async () => newSchemaName('ferry_conf'),
    open: (schema, opts) => PostgresJobStore.open({ connectionString: server.url, schema, poolSize: 2, now: opts?.now, logger: silentLogger }),
    dropLocation: (schema) => dropSchemas(server, [schema]),
    additionalTests: () => {
      it('is created from config through the plugin registry, options validated by its schema', async () => {
        const schema = newSchemaName('ferry_conf');
        const registry = new PluginRegistry().register(postgresJobs);
        const ctx = { logger: silentLogger, dataDir: '/nonexistent' };
        await expect(registry.create('jobs', { use: 'postgres', options: { connectionString: server.url, schema: 'Bad-Name' } }, ctx)).rejects.toMatchObject({
          code: 'INVALID_OPTIONS',
          path: ['jobs', 'options', 'schema'],
        });
        const store = await registry.create('jobs', { use: 'postgres', options: { connectionString: server.url, schema, poolSize: 2 } }, ctx);
        try {
          expect(store.name).toBe('postgres');
          await store.ping();
          expect(store.onWork).toBeTypeOf('function');
        } finally {
          await store.close();
          await dropSchemas(server, [schema]);
        }
      });
    },
  });
});
