import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePostgres, requirePostgres } from '@ferry/testing';
import { spawnFerry } from './test-support/processes.js';

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const p = spawnFerry(args, env);
  const code = await p.exited;
  return { code, out: p.output() };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ferry (the command line)', () => {
  it('prints help and exits 0, listing every role', async () => {
    for (const args of [['--help'], ['help'], []]) {
      const { code, out } = await run(args);
      expect(code).toBe(0);
      for (const command of ['serve', 'api', 'worker', 'migrate', 'listen']) expect(out).toContain(command);
    }
    const sub = await run(['worker', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.out).toContain('--config <file>');
  });

  it('refuses unknown commands and flags with exit code 2 and one line, without starting anything', async () => {
    for (const args of [['bogus'], ['serve', '--prot', '80'], ['serve', '--config']]) {
      const { code, out } = await run(args);
      expect(code, args.join(' ')).toBe(2);
      expect(out).not.toMatch(/\n\s+at /);
      expect(out).not.toContain('listening');
    }
  });

  it('says in one line that FERRY_DATABASE_URL must be a postgres URL', async () => {
    const { code, out } = await run(['migrate'], { FERRY_DATABASE_URL: 'mysql://root@127.0.0.1/ferry', FERRY_DATA_DIR: dir });
    expect(code).toBe(1);
    expect(out.trim()).toBe('ferry: INVALID_CONFIG: FERRY_DATABASE_URL must be a postgres:// or postgresql:// URL');
  });

  it('migrates the embedded SQLite job store, and then finds it up to date', async () => {
    const env = { FERRY_DATA_DIR: join(dir, 'sqlite') };
    const first = await run(['migrate'], env);
    expect(first).toMatchObject({ code: 0 });
    expect(first.out).toMatch(/^sqlite: migrated from version 0 to \d+\n$/);
    const again = await run(['migrate'], env);
    expect(again.out).toMatch(/^sqlite: schema is up to date \(version \d+\)\n$/);
  });
});

const postgres = await requirePostgres();

describePostgres('ferry migrate on PostgreSQL', postgres, (service) => {
  const schema = `ferry_cli_${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: service.url });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  });

  it('is what lets processes that do not migrate at start run on a new schema', async () => {
    const config = join(dir, 'pg.config.json');
    await writeFile(config, JSON.stringify({ dataDir: join(dir, 'pg'), jobs: { use: 'postgres', options: { connectionString: service.url, schema, migrate: false } } }));
    const refused = await run(['worker', '--config', config], { FERRY_PUBLIC_URL: 'http://127.0.0.1:8080' });
    expect(refused.code).toBe(1);
    expect(refused.out.trim().split('\n')).toHaveLength(1);
    expect(refused.out).toContain('ferry migrate');

    const migrated = await run(['migrate', '--config', config]);
    expect(migrated.code).toBe(0);
    expect(migrated.out).toMatch(/^postgres: migrated from version 0 to \d+\n$/);
    expect((await run(['migrate', '--config', config])).out).toMatch(/^postgres: schema is up to date/);
  });
});

describe('operator mistakes get one clear line, never a stack trace', () => {
  const oneLine = (out: string) => {
    const lines = out.trim().split('\n');
    expect(lines, out).toHaveLength(1);
    expect(out).not.toMatch(/\n\s+at /);
    return lines[0]!;
  };

  it('a port in use, found before any start-up work', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    const dataDir = join(dir, 'port-in-use');
    try {
      const { code, out } = await run(['serve'], { FERRY_PORT: String(port), FERRY_DATA_DIR: dataDir });
      expect(code).toBe(1);
      expect(oneLine(out)).toBe(`ferry: INVALID_CONFIG: port ${port} on 127.0.0.1 is already in use: stop what holds it, or choose another port (at server.port in the environment (FERRY_PORT))`);
      // The sample dataset (seconds of work) was not generated first.
      expect(existsSync(join(dataDir, 'datasets'))).toBe(false);
    } finally {
      taken.close();
    }
  });

  it.each([
    ['a file', () => join(dir, 'a-file'), 'is a file, not a directory'],
    ['under /proc (where mkdir used to spin forever)', () => '/proc/ferry-test-data', 'its parent does not allow new folders'],
    ['unwritable', () => '/sys/ferry-test-data', 'permission denied'],
  ])('a data directory that is %s', async (_what, path, reason) => {
    await writeFile(join(dir, 'a-file'), 'not a folder');
    const { code, out } = await run(['serve'], { FERRY_DATA_DIR: path(), FERRY_PORT: '0' });
    expect(code).toBe(1);
    const line = oneLine(out);
    expect(line).toContain(reason);
    expect(line).toContain('(at dataDir in the environment (FERRY_DATA_DIR))');
  });

  it('a bad value says whether it came from the file or from the environment', async () => {
    const config = join(dir, 'bad.config.json');
    await writeFile(config, JSON.stringify({ server: { port: 'eighty' } }));
    const fromFile = await run(['serve', '--config', config]);
    expect(fromFile.code).toBe(1);
    expect(oneLine(fromFile.out)).toBe(`ferry: INVALID_CONFIG: Invalid input: expected number, received string (at server.port in ${config})`);
    const fromEnv = await run(['serve'], { FERRY_PORT: 'eighty' });
    expect(oneLine(fromEnv.out)).toContain('(at server.port in the environment (FERRY_PORT))');
  });

  it('a dataset that does not match its table stops start-up at the path of the bad column', async () => {
    const table = join(dir, 'prices.csv');
    await writeFile(table, 'sku,price\nA,1.5\nB,2\n');
    const config = join(dir, 'mismatch.config.json');
    await writeFile(
      config,
      JSON.stringify({
        dataDir: join(dir, 'mismatch-data'),
        server: { port: 0 },
        sampleDataset: false,
        datasets: [{ key: 'prices', relation: { file: table }, columns: [{ name: 'sku', type: 'string', role: 'dimension' }, { name: 'price', type: 'date', role: 'time' }] }],
      }),
    );
    const { code, out } = await run(['serve', '--config', config]);
    expect(code).toBe(1);
    expect(oneLine(out)).toBe(`ferry: INVALID_CONFIG: dataset "prices": column "price" is declared date, but its source gives Float64 (at datasets[0].columns[1].type in ${config})`);
  });

  it('ferry listen: a bad port is a usage error (2), a missing key a configuration error (1)', async () => {
    const badPort = await run(['listen', 'abc'], { FERRY_API_KEY: 'listen-key-123456' });
    expect(badPort.code).toBe(2);
    expect(badPort.out).toContain('a port is a whole number from 0 to 65535');
    const noKey = await run(['listen', '0'], { FERRY_API_KEY: '' });
    expect(noKey.code).toBe(1);
    expect(oneLine(noKey.out)).toContain('FERRY_API_KEY');
  });
});
