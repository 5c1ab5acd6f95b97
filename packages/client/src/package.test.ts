import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFileLock } from '@ferry/testing/support';

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const WORKSPACE = fileURLToPath(new URL('../../..', import.meta.url));

let packed: string;
let tarball: string;
const consumers: string[] = [];

/** A fresh project outside the workspace with the packed tarball installed, and nothing else. */
async function newConsumer(): Promise<string> {
  const consumer = await mkdtemp(join(tmpdir(), 'ferry-client-consumer-'));
  consumers.push(consumer);
  const installed = join(consumer, 'node_modules', '@ferry', 'client');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return consumer;
}

/** Run an ES module in a consumer's folder; its stdout, or its error. */
async function node(consumer: string, code: string): Promise<{ stdout: string; error?: string }> {
  try {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: consumer });
    return { stdout };
  } catch (err) {
    return { stdout: '', error: (err as { stderr?: string }).stderr ?? String(err) };
  }
}

const linkFromWorkspace = async (consumer: string, name: string) =>
  symlink(join(WORKSPACE, 'node_modules', name), join(consumer, 'node_modules', name), 'dir');

beforeAll(async () => {
  // `npm pack` builds dist/ (prepack) and packs what a registry would get.
  packed = await mkdtemp(join(tmpdir(), 'ferry-client-pack-'));
  // Not while another test builds the workspace's dist/ folders (apps/cli/src/third-party-plugin.test.ts).
  await withFileLock('workspace-build', () => run('npm', ['pack', '--pack-destination', packed], { cwd: PACKAGE_DIR }));
  tarball = join(packed, (await readdir(packed)).find((f) => f.endsWith('.tgz'))!);
}, 180_000);

afterAll(async () => {
  for (const dir of [packed, ...consumers]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the published package', () => {
  it('holds the built JavaScript and declarations, its README, and no sources or tests', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.split('\n').filter(Boolean);
    for (const f of ['package/package.json', 'package/README.md', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/webhooks/index.js', 'package/dist/webhooks/index.d.ts', 'package/dist/schema.d.ts']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.includes('/src/') || f.includes('.test.') || f.includes('codegen'))).toEqual([]);
  });

  it('verifies webhooks from @ferry/client/webhooks with nothing else installed, not even openapi-fetch', async () => {
    const consumer = await newConsumer();
    const { stdout, error } = await node(consumer, `
      import { createHmac } from 'node:crypto';
      import { verifyStandardWebhook, WebhookVerificationError } from '@ferry/client/webhooks';
      const secret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
      const body = '{"queryUUID":"q1"}', id = 'msg_1', ts = String(Math.floor(Date.now() / 1000));
      const sig = createHmac('sha256', Buffer.alloc(32, 7)).update(id + '.' + ts + '.' + body).digest('base64');
      const ok = verifyStandardWebhook(body, { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': 'v1,' + sig }, secret);
      let code;
      try { verifyStandardWebhook(body + ' ', { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': 'v1,' + sig }, secret); } catch (e) { code = e instanceof WebhookVerificationError && e.code; }
      console.log(JSON.stringify({ ok, code }));
    `);
    expect(error).toBeUndefined();
    expect(JSON.parse(stdout)).toEqual({ ok: { queryUUID: 'q1' }, code: 'INVALID_SIGNATURE' });
    // The main entry does need its one dependency, which is not installed yet.
    expect((await node(consumer, `await import('@ferry/client');`)).error).toMatch(/openapi-fetch/);
  });

  it('imports and type-checks as a dependency of a project outside the workspace', async () => {
    const consumer = await newConsumer();
    await linkFromWorkspace(consumer, 'openapi-fetch');
    await linkFromWorkspace(consumer, 'openapi-typescript-helpers');
    const { stdout, error } = await node(consumer, `
      import { createFerryClient, FerryApiError, verifyFerryWebhook } from '@ferry/client';
      const client = createFerryClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k' });
      console.log([typeof client.GET, typeof client.submitExport, typeof client.waitForExport, typeof client.downloadExport, typeof FerryApiError, typeof verifyFerryWebhook].join());
    `);
    expect(error).toBeUndefined();
    expect(stdout.trim()).toBe(Array(6).fill('function').join());

    await writeFile(
      join(consumer, 'consumer.ts'),
      `import { createFerryClient, unwrap, type ExportStatus } from '@ferry/client';
import { verifySecretHeader } from '@ferry/client/webhooks';
const client = createFerryClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'k' });
export async function running(): Promise<string[]> {
  const page = unwrap(await client.GET('/dataset/export', { params: { query: { state: 'running' } } }));
  return page.data.map((e) => e.queryUUID);
}
export async function status(id: string): Promise<ExportStatus['state']> {
  // @ts-expect-error: not a route of the API
  await client.GET('/no/such/route');
  return (await client.waitForExport(id, { onProgress: (p) => p.rows.toFixed() })).state;
}
export const check = (headers: Record<string, string>) => verifySecretHeader(headers, 'secret');
`,
    );
    await writeFile(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(WORKSPACE, 'node_modules', '@types')] },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(WORKSPACE, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', consumer]).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
    expect(checked.stdout).toBe('');
  });
});
