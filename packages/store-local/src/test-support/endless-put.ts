/**
 * A put that never finishes, in a process of its own, for tests that kill it (SIGKILL) mid-write:
 * `node --import tsx endless-put.ts <root> <key>`. Prints a line after each chunk it wrote.
 */
import { LocalStore } from '../local-store.js';

const [root, key] = process.argv.slice(2);
if (!root || !key) throw new Error('usage: endless-put.ts <root> <key>');

async function* endless(): AsyncIterable<Uint8Array> {
  for (;;) {
    yield Buffer.alloc(64 * 1024, 7);
    process.stdout.write('chunk\n');
    await new Promise((r) => setTimeout(r, 10));
  }
}

await new LocalStore({ root }).put(key, endless(), { contentType: 'text/plain' });
