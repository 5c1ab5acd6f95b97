import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Aggregate, EVENT_TYPES as CORE_EVENT_TYPES, ExportRequest, FilterOp, Granularity, ExportScheduleCreate } from '@ferry/core';
import type { Dataset } from '@ferry/client';
import { AGGREGATES, GRANULARITIES, OPERATORS, buildRequest, curlCommand, emptyFilter, emptyScope, emptyState, fieldOfPath, parseOperand, type BuilderState, type FilterDraft } from '../ui/query-builder.js';
import { EVENT_TYPES } from '../ui/events.js';

const column = (name: string, type: string, role: 'dimension' | 'measure' | 'time' = 'dimension') => ({
  name,
  type,
  role,
  description: null,
  aggregates: role === 'measure' ? ['Avg', 'Sum', 'Min', 'Max', 'Count', 'CountDistinct', 'Median'] : ['Count', 'CountDistinct', 'Min', 'Max'],
  granularities: role === 'time' ? ['week', 'month', 'quarter', 'year'] : [],
});

const DATASET: Dataset = {
  key: 'rentals',
  description: null,
  primaryKey: null,
  limits: { maxRows: 1_000_000 },
  formats: ['csv', 'jsonl', 'parquet', 'arrow'],
  columns: [column('msa', 'string'), column('bed', 'integer'), column('bath', 'double'), column('asking_rent', 'integer', 'measure'), column('furnished', 'boolean'), column('as_of_week', 'date', 'time')],
};

function form(change: Partial<BuilderState>): BuilderState {
  return { ...emptyState(DATASET), name: 'rents', webhookURL: 'https://hooks.example.com/ferry', ...change };
}

const withFilter = (draft: Partial<FilterDraft>) => form({ filters: [{ ...emptyFilter('msa'), ...draft }] });

describe('the query builder', () => {
  it('offers exactly the operators, aggregates, granularities and event types the API accepts', () => {
    expect(OPERATORS.map((o) => o.op).sort()).toEqual(Object.keys(FilterOp.shape).sort());
    expect([...AGGREGATES]).toEqual(Aggregate.options);
    expect([...GRANULARITIES]).toEqual(Granularity.options);
    expect([...EVENT_TYPES]).toEqual([...CORE_EVENT_TYPES]);
  });

  it('builds a request the API schema accepts for every operator', () => {
    const operand: Record<string, Partial<FilterDraft>> = {
      value: { column: 'bed', value: '2' },
      list: { column: 'msa', value: 'Seattle, WA' },
      range: { column: 'as_of_week', value: '2024-01-01', value2: '2024-06-30' },
      text: { column: 'msa', value: 'Seat' },
      flag: { column: 'bath', value: 'false' },
    };
    for (const { op, arity } of OPERATORS) {
      const request = buildRequest(withFilter({ operator: op, ...operand[arity] }), DATASET);
      const parsed = ExportRequest.safeParse(request);
      expect(parsed.success, `${op}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    }
  });

  it('sends numbers for numeric columns and counts, true/false for booleans, and text as typed', () => {
    expect(parseOperand(' 3 ', 'integer')).toBe(3);
    expect(parseOperand('2.5', 'double')).toBe(2.5);
    expect(parseOperand('12', 'string')).toBe('12');
    expect(parseOperand('12', 'string', 'Count')).toBe(12);
    expect(parseOperand('true', 'boolean')).toBe(true);
    expect(parseOperand('2024-01-01', 'date')).toBe('2024-01-01');
    // Not a number: passed through, so the server names the mistake and its field.
    expect(parseOperand('three', 'integer')).toBe('three');

    const request = buildRequest(
      form({
        filters: [
          { ...emptyFilter('bed'), operator: 'in', value: '1, 2,, 3' },
          { ...emptyFilter('bed'), operator: 'between', value: '1', value2: '4' },
          { ...emptyFilter('msa'), operator: 'isNull', value: 'true' },
          { ...emptyFilter('furnished'), operator: 'equals', value: 'false' },
          { ...emptyFilter('asking_rent'), aggregate: 'Avg', operator: 'gte', value: '1500' },
        ],
      }),
      DATASET,
    );
    expect(request.dataset.filters).toEqual([
      { column: 'bed', filter: { in: [1, 2, 3] } },
      { column: 'bed', filter: { between: [1, 4] } },
      { column: 'msa', filter: { isNull: true } },
      { column: 'furnished', filter: { equals: false } },
      { column: 'asking_rent', aggregate: 'Avg', filter: { gte: 1500 } },
    ]);
  });

  it('puts the filters in one `or` group when any may match, and leaves defaults out', () => {
    const state = form({
      scopes: [emptyScope('msa'), { ...emptyScope('as_of_week'), granularity: 'month' }, { ...emptyScope('asking_rent'), aggregate: 'Median', alias: ' median_rent ' }],
      filters: [
        { ...emptyFilter('msa'), value: 'Seattle, WA' },
        { ...emptyFilter('msa'), value: 'Tacoma, WA' },
      ],
      match: 'any',
      orderBy: [{ column: 'median_rent', direction: 'desc' }],
      limit: '100',
    });
    expect(buildRequest(state, DATASET)).toEqual({
      dataset: {
        from: 'rentals',
        scopes: [{ column: 'msa' }, { column: 'as_of_week', granularity: 'month' }, { column: 'asking_rent', aggregate: 'Median', alias: 'median_rent' }],
        filters: [{ or: [{ column: 'msa', filter: { equals: 'Seattle, WA' } }, { column: 'msa', filter: { equals: 'Tacoma, WA' } }] }],
        orderBy: [{ column: 'median_rent', direction: 'desc' }],
        limit: 100,
      },
      webhookURL: 'https://hooks.example.com/ferry',
      name: 'rents',
      format: 'csv',
    });
  });

  it('adds the cron for a schedule, in the shape POST /exports/schedules takes', () => {
    const request = buildRequest(form({ cron: ' 0 6 * * 1 ', compression: 'zstd', notifyOnFailure: true, maxFileRows: '50000', webhookScheme: 'standard-webhooks' }), DATASET, { schedule: true });
    expect(request).toMatchObject({ cron: '0 6 * * 1', compression: 'zstd', notifyOnFailure: true, maxFileRows: 50000, webhookScheme: 'standard-webhooks' });
    expect(ExportScheduleCreate.safeParse(request).success).toBe(true);
    expect(buildRequest(form({ cron: '0 6 * * 1' }), DATASET)).not.toHaveProperty('cron');
  });

  it("maps the server's field paths back to the rows of the form", () => {
    expect(fieldOfPath('dataset.scopes[2].aggregate', 'all')).toEqual({ part: 'scope', index: 2 });
    expect(fieldOfPath('dataset.filters[1].filter.in', 'all')).toEqual({ part: 'filter', index: 1 });
    expect(fieldOfPath('dataset.filters[0].or[3].filter.equals', 'any')).toEqual({ part: 'filter', index: 3 });
    expect(fieldOfPath('dataset.orderBy[0].column', 'all')).toEqual({ part: 'order', index: 0 });
    expect(fieldOfPath('dataset.limit', 'all')).toEqual({ part: 'limit' });
    expect(fieldOfPath('webhookURL', 'all')).toEqual({ part: 'webhookURL' });
    expect(fieldOfPath(undefined, 'all')).toBeUndefined();
    expect(fieldOfPath('query.state', 'all')).toBeUndefined();
  });
});

describe('the curl command', () => {
  it('sends, through a shell, exactly the body shown and the key from $FERRY_API_KEY', async () => {
    const seen: Array<{ method: string; url: string; key: string | undefined; type: string | undefined; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, key: req.headers['x-api-key'] as string | undefined, type: req.headers['content-type'], body });
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      // Quotes, a dollar sign and a backslash must reach the server untouched by the shell.
      const request = buildRequest(form({ name: `O'Brien's "$HOME" \\ export`, filters: [{ ...emptyFilter('msa'), operator: 'contains', value: "it's $(rm -rf /)" }] }), DATASET);
      const command = curlCommand(base, '/dataset/export', request);
      expect(command).not.toContain('secret-key-123');
      await promisify(execFile)('bash', ['-c', command], { env: { ...process.env, FERRY_API_KEY: 'secret-key-123' } });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ method: 'POST', url: '/dataset/export', key: 'secret-key-123', type: 'application/json' });
      expect(JSON.parse(seen[0]!.body)).toEqual(request);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
