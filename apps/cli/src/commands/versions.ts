import type { Command } from 'commander';
import { unwrap, type DatasetVersion } from '@ferry/client';
import { connect, withConnection, type ConnectionOptions } from './connection.js';
import { note, printFields, printJson, printTable } from './output.js';
import { parsePositiveInt } from './query-flags.js';

const ADMIN = { apiKey: false, adminToken: true } as const;

export function registerVersions(program: Command): void {
  const cmd = program.command('versions').description("a dataset's published versions (snapshot + delta): publish, list");

  withConnection(
    cmd
      .command('publish')
      .description('publish a version now (operator only: it reaches every account as dataset.version.published)')
      .argument('<dataset>', 'a catalog dataset with a primary key'),
    ADMIN,
  ).action(async (dataset: string, opts: ConnectionOptions, command: Command) => {
    const version = unwrap(await connect(command, opts, ADMIN).POST('/datasets/{key}/versions', { params: { path: { key: dataset } } }));
    if (opts.json) return printJson(version);
    printFields([
      ['dataset', version.dataset_key],
      ['version', version.version_number],
      ['cursor', version.cursor],
      ['previous cursor', version.previous_cursor],
      ['changed rows', version.changed_row_count],
      ['rows', version.row_count],
      ['published', version.published_at],
    ]);
  });

  withConnection(
    cmd
      .command('list')
      .description("a dataset's versions, newest first")
      .argument('<dataset>')
      .option('--limit <n>', 'how many (1-1000, default 100)', parsePositiveInt)
      .option('--before <version>', 'the page of versions older than this version number', parsePositiveInt),
  ).action(async (dataset: string, opts: ConnectionOptions & { limit?: number; before?: number }, command: Command) => {
    const query = { ...(opts.limit ? { limit: opts.limit } : {}), ...(opts.before ? { before: opts.before } : {}) };
    const page = unwrap(await connect(command, opts).GET('/datasets/{key}/versions', { params: { path: { key: dataset }, query } }));
    if (opts.json) return printJson(page);
    printTable(
      ['version', 'cursor', 'changed', 'rows', 'published', 'pruned'],
      page.data.map((v: DatasetVersion) => [v.version_number, v.cursor, v.changed_row_count, v.row_count, v.published_at, v.pruned_at]),
      `No versions of ${dataset} yet (publish one: ferry versions publish ${dataset}).`,
    );
    if (page.hasMore) note(`More: ferry versions list ${dataset} --before ${page.data.at(-1)!.version_number}`);
  });
}
