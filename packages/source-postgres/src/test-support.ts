import pg from 'pg';

/** Where the local test server is (from `requirePostgres()` in @ferry/testing; always 127.0.0.1). */
export interface LocalServer {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** A throwaway schema on the local test server: created per test file, dropped after. */
export async function withSchema(server: LocalServer, prefix: string): Promise<{ schema: string; admin: pg.Client; drop: () => Promise<void> }> {
  const schema = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ host: server.host, port: server.port, database: server.database, user: server.user });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  return {
    schema,
    admin,
    drop: async () => {
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

/** Source options for the local test server. */
export function localOptions(server: LocalServer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { host: server.host, port: server.port, database: server.database, user: server.user, ...extra };
}

export const testLogger = { debug() {}, info() {}, warn() {}, error() {} };
