import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresJobStore, type PostgresJobStoreOptions } from './postgres-job-store.js';

/** Test-only helpers: a unique schema per store under test, dropped afterwards. */

/** The local test server (`POSTGRES` from @ferry/testing): only its URL is needed here. */
export interface TestServer {
  url: string;
}

/** `FERRY_TEST_SCHEMA_PREFIX` goes in front, so runs sharing one database can tell their schemas apart. */
export function newSchemaName(prefix = 'ferry_jobs_t'): string {
  return `${process.env.FERRY_TEST_SCHEMA_PREFIX ?? ''}${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function dropSchemas(server: TestServer, schemas: readonly string[]): Promise<void> {
  if (schemas.length === 0) return;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await admin.end();
  }
}

/** The server processes behind a store's pool, found by its application name (its LISTEN connection has another). */
export async function poolBackends(admin: pg.Client, schema: string): Promise<number[]> {
  const result = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [`ferry:${schema}`]);
  return result.rows.map((row) => row.pid);
}

/** Opens stores on fresh schemas of the test server and remembers what to close and drop. */
export class StoreFixture {
  readonly schemas = new Set<string>();
  readonly stores: PostgresJobStore[] = [];

  constructor(readonly server: TestServer) {}

  location(): string {
    const schema = newSchemaName();
    this.schemas.add(schema);
    return schema;
  }

  async open(schema: string, options: Partial<PostgresJobStoreOptions> = {}): Promise<PostgresJobStore> {
    this.schemas.add(schema);
    const store = await PostgresJobStore.open({ connectionString: this.server.url, schema, poolSize: 4, ...options });
    this.stores.push(store);
    return store;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.stores.splice(0).map((s) => s.close()));
    await dropSchemas(this.server, [...this.schemas]);
    this.schemas.clear();
  }
}
