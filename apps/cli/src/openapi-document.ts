import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry } from './runtime.js';
import { defineConfig } from './config.js';

/** Where the committed document lives; CI fails when the code and it differ. */
export const OPENAPI_FILE = new URL('../../../docs/openapi.json', import.meta.url);

/** The OpenAPI document exactly as an API process serves it at /openapi.json, as committed (2-space JSON, final newline). */
export async function generateOpenApi(dataDir?: string): Promise<string> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'ferry-openapi-')));
  const ferry = await startFerry(defineConfig({ dataDir: dir, server: { port: 0 }, logLevel: 'error' }), undefined, { role: 'api' });
  try {
    const res = await fetch(`${ferry.url}/openapi.json`);
    return `${JSON.stringify(await res.json(), null, 2)}\n`;
  } finally {
    await ferry.stop();
    if (!dataDir) await rm(dir, { recursive: true, force: true });
  }
}
