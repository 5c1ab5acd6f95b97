import { fork } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';

/** s3rver only knows this key pair; its SigV4 support checks the key id, not the signature. */
export const S3RVER_CREDENTIALS: Readonly<{ accessKeyId: string; secretAccessKey: string }> = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
// Frozen because the AWS SDK tags credential objects it is handed (`$source`); callers pass copies.

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface S3rverHarness {
  endpoint: string;
  /** Every request the server received, as it arrived on the wire (complete after `sync()`). */
  requests: RecordedRequest[];
  /** Wait until every request the server has seen so far is in `requests` (IPC is ordered). */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

type ChildMessage =
  | { type: 'ready'; endpoint: string }
  | ({ type: 'request' } & RecordedRequest)
  | { type: 'synced'; id: number };

/** An S3-protocol server on 127.0.0.1 (ephemeral port, temp directory) in a child process. */
export async function startS3rver(buckets: string[]): Promise<S3rverHarness> {
  const child = fork(new URL('./s3rver-process.ts', import.meta.url), [], {
    // Sources, not dist/, as in the test that starts it (a clean clone has no dist/).
    execArgv: ['--conditions=@ferry/source', '--import', 'tsx'],
    env: { ...process.env, FERRY_S3RVER_BUCKETS: buckets.join(',') },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const requests: RecordedRequest[] = [];
  const waiting = new Map<number, () => void>();
  let nextId = 0;
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver process exited early (${String(code)})`)));
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') resolve(message.endpoint);
      else if (message.type === 'request') requests.push({ method: message.method, url: message.url, headers: message.headers });
      else waiting.get(message.id)?.();
    });
  });
  child.removeAllListeners('exit');
  return {
    endpoint,
    requests,
    sync: () =>
      new Promise<void>((resolve) => {
        const id = ++nextId;
        waiting.set(id, () => {
          waiting.delete(id);
          resolve();
        });
        child.send({ type: 'sync', id });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}
