import { describe, expect, it } from 'vitest';
import { DatasetVersioning, DeltaQuery, ExportScheduleCreate, SnapshotQuery, VERSION_EVENT_FIELDS, VersionListRequest } from './versions.js';
import { refusal } from './test-support/refusal.js';


describe('dataset versioning in the catalog', () => {
  it('accepts counters, a schedule, retention and a row cap, trimming the text', () => {
    expect(DatasetVersioning.parse({ counters: { quote_safe_count: '  count(*) FILTER (WHERE quote_safe) ', a1_b: 'sum(x)' }, schedule: ' 0 * * * * ', retainVersions: 1, maxRows: 1 })).toEqual({
      counters: { quote_safe_count: 'count(*) FILTER (WHERE quote_safe)', a1_b: 'sum(x)' },
      schedule: '0 * * * *',
      retainVersions: 1,
      maxRows: 1,
    });
    expect(DatasetVersioning.parse({})).toStrictEqual({});
  });

  it('names the event fields a counter must not shadow, as seed 002 publishes them', () => {
    expect(VERSION_EVENT_FIELDS).toEqual([
      'dataset_key',
      'version_number',
      'cursor',
      'previous_cursor',
      'changed_row_count',
      'row_count',
      'published_at',
      'pull_deltas_url',
      'snapshot_url',
      'requires_snapshot',
    ]);
  });

  it.each(VERSION_EVENT_FIELDS.map((field) => [field]))('refuses a counter named %s', (field) => {
    expect(refusal(DatasetVersioning, { counters: { units: 'count(*)', [field]: 'count(*)' } })).toEqual({
      path: 'counters',
      message: `counter names must not reuse an event field (${VERSION_EVENT_FIELDS.join(', ')})`,
    });
  });

  it.each([
    ['a counter name in camel case', { counters: { quoteSafe: 'count(*)' } }, 'counters.quoteSafe', 'counter names are lower snake case'],
    ['a counter name starting with a digit', { counters: { '1st': 'count(*)' } }, 'counters.1st', 'counter names are lower snake case'],
    ['a counter name with a hyphen', { counters: { 'units-total': 'count(*)' } }, 'counters.units-total', 'counter names are lower snake case'],
    ['a blank counter expression', { counters: { units: '   ' } }, 'counters.units', 'Too small: expected string to have >=1 characters'],
    ['a blank schedule', { schedule: ' ' }, 'schedule', 'Too small: expected string to have >=1 characters'],
    ['keeping no versions', { retainVersions: 0 }, 'retainVersions', 'Too small: expected number to be >=1'],
    ['a fractional retention', { retainVersions: 1.5 }, 'retainVersions', 'Invalid input: expected int, received number'],
    ['a zero row cap', { maxRows: 0 }, 'maxRows', 'Too small: expected number to be >0'],
    ['an unknown field', { cron: '* * * * *' }, '', 'unknown field(s): cron'],
  ])('refuses %s', (_what, value, path, message) => {
    expect(refusal(DatasetVersioning, value)).toEqual({ path, message });
  });
});

describe('sync requests', () => {
  it('reads deltas as jsonl and snapshots as parquet, uncompressed, unless asked otherwise', () => {
    expect(DeltaQuery.parse({ since: 'c1' })).toEqual({ since: 'c1', format: 'jsonl', compression: 'none' });
    expect(DeltaQuery.parse({ since: 'c1', until: 'c9', format: 'csv', compression: 'gzip' })).toEqual({ since: 'c1', until: 'c9', format: 'csv', compression: 'gzip' });
    expect(SnapshotQuery.parse({})).toEqual({ format: 'parquet', compression: 'none' });
    expect(SnapshotQuery.parse({ cursor: 'c3', format: 'arrow', compression: 'zstd' })).toEqual({ cursor: 'c3', format: 'arrow', compression: 'zstd' });
  });

  it.each([
    [DeltaQuery, {}, 'since', 'Invalid input: expected string, received undefined'],
    [DeltaQuery, { since: '' }, 'since', 'since is required: the cursor you hold'],
    [DeltaQuery, { since: 'c1', until: '' }, 'until', 'Too small: expected string to have >=1 characters'],
    [DeltaQuery, { since: 'c1', format: 'CSV' }, 'format', 'a format name, e.g. csv'],
    [DeltaQuery, { since: 'c1', compression: 'brotli' }, 'compression', 'Invalid option: expected one of "gzip"|"zstd"|"none"'],
    [DeltaQuery, { since: 'c1', cursor: 'c2' }, '', 'unknown field(s): cursor'],
    [SnapshotQuery, { cursor: '' }, 'cursor', 'Too small: expected string to have >=1 characters'],
    [SnapshotQuery, { since: 'c1' }, '', 'unknown field(s): since'],
  ] as const)('refuses %#', (schema, value, path, message) => {
    expect(refusal(schema, value)).toEqual({ path, message });
  });

  it('pages version lists 1 to 1000 at a time, 100 by default, reading numbers from the query string', () => {
    expect(VersionListRequest.parse({})).toEqual({ limit: 100 });
    expect(VersionListRequest.parse({ limit: '1', before: '1' })).toEqual({ limit: 1, before: 1 });
    expect(VersionListRequest.parse({ limit: '1000' })).toEqual({ limit: 1000 });
    expect(refusal(VersionListRequest, { limit: '1001' })).toEqual({ path: 'limit', message: 'Too big: expected number to be <=1000' });
    expect(refusal(VersionListRequest, { limit: '0' })).toEqual({ path: 'limit', message: 'Too small: expected number to be >=1' });
    expect(refusal(VersionListRequest, { limit: '2.5' })).toMatchObject({ path: 'limit' });
    expect(refusal(VersionListRequest, { before: '0' })).toEqual({ path: 'before', message: 'Too small: expected number to be >=1' });
    expect(refusal(VersionListRequest, { before: '1.5' })).toMatchObject({ path: 'before' });
    expect(refusal(VersionListRequest, { after: '1' })).toEqual({ path: '', message: 'unknown field(s): after' });
  });
});

describe('export schedules', () => {
  const body = { dataset: { scopes: [{ column: 'msa' }] }, webhookURL: 'https://example.com/h', name: 'nightly', format: 'csv' };

  it('takes an export request plus a trimmed cron', () => {
    expect(ExportScheduleCreate.parse({ ...body, cron: ' 0 3 * * * ' })).toEqual({ ...body, cron: '0 3 * * *' });
    expect(ExportScheduleCreate.parse({ ...body, cron: 'c'.repeat(256) }).cron).toHaveLength(256);
  });

  it('refuses a missing, blank or overlong cron, and keeps the request’s own rules', () => {
    expect(refusal(ExportScheduleCreate, body)).toEqual({ path: 'cron', message: 'Invalid input: expected string, received undefined' });
    expect(refusal(ExportScheduleCreate, { ...body, cron: '  ' })).toEqual({ path: 'cron', message: 'Too small: expected string to have >=1 characters' });
    expect(refusal(ExportScheduleCreate, { ...body, cron: 'c'.repeat(257) })).toEqual({ path: 'cron', message: 'Too big: expected string to have <=256 characters' });
    expect(refusal(ExportScheduleCreate, { ...body, name: ' ', cron: '* * * * *' })).toEqual({ path: 'name', message: 'name must not be empty' });
    expect(refusal(ExportScheduleCreate, { ...body, cron: '* * * * *', every: 'day' })).toEqual({ path: '', message: 'unknown field(s): every' });
  });
});
