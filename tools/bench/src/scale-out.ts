/**
 * Scale-out (issue 10): export claims/s and webhook deliveries/s with 1, 2 and 4 worker processes,
 * on PostgreSQL beside SQLite, beside the limits measured in the same run, and the goals.
 *
 *   npm run bench -- scale-out [quick] [claims | deliveries]
 *
 * `quick`: 2,000 exports and 1,000 deliveries instead of 20,000 and 10,000.
 */
import { benchClaims, type ClaimsFigures } from './claims.js';
import { benchScaleOutDeliveries, type DeliveriesFigures } from './scale-out-deliveries.js';

const CLAIMS_GOAL = 0.5;
const DELIVERIES_GOAL = 0.8;

export async function benchScaleOut(args: readonly string[]): Promise<string> {
  const unknown = args.filter((a) => !['quick', 'claims', 'deliveries'].includes(a));
  if (unknown.length > 0) throw new Error(`scale-out takes [quick] [claims | deliveries], not ${unknown.join(' ')}`);
  const quick = args.includes('quick');
  const only = args.find((a) => a === 'claims' || a === 'deliveries');
  const processes = [1, 2, 4];
  const timeoutMs = quick ? 120_000 : 300_000;
  const out: string[] = [];
  let claims: ClaimsFigures[] = [];
  let deliveries: DeliveriesFigures[] = [];
  if (only !== 'deliveries') {
    const r = await benchClaims({ processes, exports: quick ? 2_000 : 20_000, accounts: 20, timeoutMs });
    out.push(...r.tables);
    claims = r.figures;
  }
  if (only !== 'claims') {
    const r = await benchScaleOutDeliveries({ processes, deliveries: quick ? 1_000 : 10_000, endpoints: 16, timeoutMs });
    out.push(...r.tables);
    deliveries = r.figures;
  }
  out.push(goals(claims, deliveries));
  return out.join('\n\n');
}

function goals(claims: readonly ClaimsFigures[], deliveries: readonly DeliveriesFigures[]): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const verdict = (ratio: number, goal: number) => (ratio >= goal ? 'yes' : 'no');
  const lines = ['### Goals', '', '| processes | measure | Ferry, PostgreSQL /s | against /s | ratio | goal | met? |', '| ---: | --- | ---: | ---: | ---: | ---: | --- |'];
  for (const c of claims) {
    const path = c.postgresClaimPath / c.bareEach;
    lines.push(`| ${c.processes} | export claim path (claim + complete) vs the bare loop (one commit per job) | ${n(c.postgresClaimPath)} | ${n(c.bareEach)} | ${path.toFixed(2)} | >= ${CLAIMS_GOAL} | ${verdict(path, CLAIMS_GOAL)} |`);
    const each = c.postgres / c.bareEach;
    lines.push(`| ${c.processes} | claims + completion transaction with outbox vs the bare loop (one commit per job) | ${n(c.postgres)} | ${n(c.bareEach)} | ${each.toFixed(2)} | >= ${CLAIMS_GOAL} | ${verdict(each, CLAIMS_GOAL)} |`);
    const batch = c.postgres / c.bareBatch;
    lines.push(`| ${c.processes} | claims + completion transaction with outbox vs the bare loop (one commit per batch) | ${n(c.postgres)} | ${n(c.bareBatch)} | ${batch.toFixed(2)} | >= ${CLAIMS_GOAL} | ${verdict(batch, CLAIMS_GOAL)} |`);
  }
  for (const d of deliveries) {
    const ratio = d.postgres / d.sqlite;
    lines.push(`| ${d.processes} | deliveries vs Ferry on SQLite | ${n(d.postgres)} | ${n(d.sqlite)} | ${ratio.toFixed(2)} | >= ${DELIVERIES_GOAL} | ${verdict(ratio, DELIVERIES_GOAL)} |`);
  }
  return lines.join('\n');
}
