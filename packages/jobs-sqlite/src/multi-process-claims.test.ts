import { fork, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewExportJob } from '@ferry/core';
import { SqliteJobStore } from './sqlite-job-store.js';
import { tempDatabase } from './test-support/temp-db.js';
import { TS_CHILD_NODE_ARGS } from '@ferry/testing/support';

type Report = { type: 'ready' } | { type: 'done'; claimed: string[] } | { type: 'error'; message: string };

const PROCESSES = 8;
const EXPORTS = 2000;
const ACCOUNTS = 20;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
});

function start(file: string, owner: string): { child: ChildProcess; ready: Promise<void>; done: Promise<string[]> } {
  const child = fork(new URL('./test-support/claim-process.ts', import.meta.url), [file, owner], {
    execArgv: [...TS_CHILD_NODE_ARGS],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  let ready!: () => void;
  const readyP = new Promise<void>((resolve) => (ready = resolve));
  const done = new Promise<string[]>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${owner} exited with ${String(code)} before reporting`)));
    child.on('message', (report: Report) => {
      if (report.type === 'ready') ready();
      else if (report.type === 'done') resolve(report.claimed);
      else reject(new Error(`${owner}: ${report.message}`));
    });
  });
  return { child, ready: readyP, done };
}

describe('SqliteJobStore shared by several processes', () => {
  it(`${PROCESSES} processes claiming ${EXPORTS} exports from one file never claim the same export twice`, async () => {
    const db = tempDatabase();
    const store = new SqliteJobStore({ file: db.file });
    try {
      const accounts: number[] = [];
      for (let i = 0; i < ACCOUNTS; i++) accounts.push((await store.accounts.create({ name: `a${i}`, createdAt: new Date() })).id);
      await store.transaction(async (tx) => {
        for (let i = 0; i < EXPORTS; i++) {
          const job: NewExportJob = {
            id: `exp_${i}`,
            accountId: accounts[i % ACCOUNTS]!,
            name: 'n',
            format: 'csv',
            compression: 'none',
            webhookUrl: 'https://hooks.example.com/x',
            endpointId: 'ep_x',
            datasetKey: 'rentals',
            query: {},
            hmacSignature: 'a'.repeat(64),
            requestedAt: new Date(),
            notifyOnFailure: false,
            split: null,
          };
          await tx.exports.insert(job);
        }
      });

      const workers = Array.from({ length: PROCESSES }, (_, i) => start(db.file, `worker-${i}`));
      await Promise.all(workers.map((w) => w.ready));
      // Every process has its connection open: let them all loose at once.
      for (const w of workers) w.child.send('go');
      const claimed = (await Promise.all(workers.map((w) => w.done))).flat();

      expect(claimed).toHaveLength(EXPORTS);
      expect(new Set(claimed).size).toBe(EXPORTS);
      expect(await store.exports.countByState()).toEqual({ queued: 0, running: 0, completed: EXPORTS, failed: 0, expired: 0 });
      // A second claim of the same export would have counted a second attempt.
      for (const account of accounts) {
        const jobs = await store.exports.list(account, { limit: EXPORTS });
        expect(jobs.filter((j) => j.attempts !== 1)).toEqual([]);
      }
    } finally {
      await store.close();
      db.remove();
    }
  });
});
