/**
 * A claiming worker in a process of its own (forked by multi-process-claims.test.ts): it opens the
 * store on the given file, waits for "go", then claims and completes exports until none is due,
 * and reports every id it claimed.
 */
import { FerryError, type ExportResult } from '@ferry/core';
import { SqliteJobStore } from '../sqlite-job-store.js';

const [file, owner] = process.argv.slice(2) as [string, string];
const store = new SqliteJobStore({ file });
const claim = { limit: 7, leaseMs: 10 * 60_000, maxRunningPerAccount: 1000 };

function result(): ExportResult {
  const finishedAt = new Date();
  return { files: [], manifest: null, numberRows: 0, bytes: 0, timeTakenMs: 0, finishedAt, expiresAt: new Date(finishedAt.getTime() + 60_000), pushdown: false };
}

/**
 * As the engine's workers do: a store busy past its timeout (eight processes on one file, on a
 * slow machine) is TRANSIENT, and the call is simply made again.
 */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof FerryError && error.retryable) || attempt === 10) throw error;
    }
  }
}

async function work(): Promise<string[]> {
  const claimed: string[] = [];
  for (let round = 0; ; round++) {
    // Alternate the two ways the engine claims: a call of its own, and inside a transaction.
    const jobs = await retrying(() =>
      round % 2 === 0
        ? store.exports.claim(owner, claim)
        : store.transaction(async (tx) => {
            const taken = await tx.exports.claim(owner, claim);
            for (const job of taken) await tx.exports.heartbeat(job.id, owner, claim.leaseMs, { rows: 1, bytes: 1 });
            return taken;
          }),
    );
    if (jobs.length === 0) return claimed;
    for (const job of jobs) {
      claimed.push(job.id);
      if (!(await retrying(() => store.exports.complete(job.id, owner, result())))) throw new Error(`${owner} lost the lease on ${job.id}`);
    }
  }
}

process.once('message', () => {
  work()
    .then(async (claimed) => {
      await store.close();
      process.send!({ type: 'done', claimed }, () => process.exit(0));
    })
    .catch((error: unknown) => {
      process.send!({ type: 'error', message: String(error) }, () => process.exit(1));
    });
});
process.send!({ type: 'ready' });
