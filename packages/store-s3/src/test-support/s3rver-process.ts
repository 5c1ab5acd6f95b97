// Runs s3rver in its own process (forked by s3rver-harness.ts). Kept out of the test process so the
// conformance suite's memory check measures the store, not the server's request buffers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

type ParentMessage = { type: 'sync'; id: number } | { type: 'stop' };

const send = (message: unknown) => process.send?.(message);
const buckets = (process.env.FERRY_S3RVER_BUCKETS ?? '').split(',').filter(Boolean);
const directory = await mkdtemp(join(tmpdir(), 'ferry-s3rver-'));
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: buckets.map((name) => ({ name })) });
const address = await server.run();
server.httpServer.prependListener('request', (req) => {
  send({ type: 'request', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
});

process.on('message', (message: ParentMessage) => {
  if (message.type === 'sync') send({ type: 'synced', id: message.id });
  if (message.type === 'stop') {
    const closing = server.close();
    server.httpServer.closeAllConnections();
    void closing.then(() => rm(directory, { recursive: true, force: true })).finally(() => process.exit(0));
  }
});
// Never outlive the test run.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', endpoint: `http://127.0.0.1:${address.port}` });
