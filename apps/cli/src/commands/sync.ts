import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { connect, usageError, withConnection, type ConnectionOptions } from './connection.js';
import { note, out, printJson } from './output.js';
import { untilInterrupted } from './interrupt.js';
import { syncDataset, type SyncResult } from './sync/run.js';

interface SyncCommandOptions extends ConnectionOptions {
  into: string;
  table?: string;
  full?: boolean;
}

export function registerSync(program: Command): void {
  withConnection(
    program
      .command('sync')
      .description("keep a local DuckDB file in sync with a versioned dataset: a snapshot first, then each run applies the changes since its cursor")
      .argument('<dataset>', 'a catalog dataset with a primary key and published versions')
      .requiredOption('--into <file>', 'the DuckDB database file (created if missing)')
      .option('--table <name>', 'the table in it (default: the dataset key)')
      .option('--full', 're-seed from the latest snapshot even though a cursor is stored')
      .addHelpText(
        'after',
        `
The cursor is stored in the same file (table _ferry_sync), in the same transaction as the rows it
stands for: a sync killed at any point leaves the previous state, and running it again finishes the
job. Run it from cron, or from a dataset.version.published webhook. See docs/cli.md.`,
      ),
  ).action(async (dataset: string, opts: SyncCommandOptions, command: Command) => {
    const client = connect(command, opts);
    const table = opts.table ?? dataset;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) usageError(command, `--table ${JSON.stringify(table)}: use letters, digits and _ (or pass --table)`);
    const file = resolve(opts.into);
    // Loaded here, not at start-up: only this command needs the native DuckDB module.
    const { openDuckDbTarget } = await import('./sync/duckdb-target.js');
    const target = await openDuckDbTarget(file, table);
    try {
      // The open database holds DuckDB's file lock, so no other sync of this file is running:
      // leftover downloads are from one that was killed.
      await removeScratch(file);
      const result = await untilInterrupted(
        (signal) =>
          syncDataset({
            client,
            target,
            dataset,
            ...(opts.full ? { full: true } : {}),
            scratchPath: (kind) => join(dirname(file), `${scratchPrefix(file)}${kind}-${randomBytes(6).toString('hex')}.parquet`),
            log: note,
            signal,
          }),
        `sync stopped; ${target.description} keeps its last complete version`,
      );
      report(result, target.description, opts.json === true);
    } finally {
      await target.close();
      await removeScratch(file);
    }
  });
}

const scratchPrefix = (file: string) => `.${basename(file)}.ferry-sync-`;

async function removeScratch(file: string): Promise<void> {
  const prefix = scratchPrefix(file);
  const entries = await readdir(dirname(file)).catch(() => [] as string[]);
  await Promise.all(entries.filter((n) => n.startsWith(prefix)).map((n) => rm(join(dirname(file), n), { force: true })));
}

function report(r: SyncResult, where: string, json: boolean): void {
  if (json) return printJson({ ...r, target: where });
  const changes = r.applied.insert + r.applied.update + r.applied.delete;
  const what = [
    r.seeded ? `loaded the snapshot (${r.seeded})` : null,
    changes > 0 ? `applied ${r.applied.insert} inserts, ${r.applied.update} updates, ${r.applied.delete} deletes` : null,
  ].filter(Boolean);
  out(
    `${r.dataset}: ${where} is at version ${r.position.version} (cursor ${r.position.cursor}), ${r.rows.toLocaleString('en-US')} rows; ` +
      (what.length > 0 ? `${what.join(', ')}.` : 'it was already up to date.'),
  );
}
