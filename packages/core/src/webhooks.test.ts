import { describe, expect, it } from 'vitest';
import { DeliveryListQuery, EndpointCreate, EndpointUpdate, EventListQuery, MAX_EVENT_FILTERS, MAX_EVENT_FILTER_LENGTH, RecoverRequest } from './webhooks.js';
import { EVENT_TYPES, eventMatches } from './events.js';
import { FerryError, formatPath } from './errors.js';
import { parseOrThrow } from './validate.js';

const url = 'https://hooks.example.com/ferry';

function refusal(schema: Parameters<typeof parseOrThrow>[0], body: unknown): { status: number; code: string; path: string; message: string } {
  try {
    parseOrThrow(schema, body);
  } catch (err) {
    if (err instanceof FerryError) return { status: err.status, code: err.code, path: formatPath(err.path ?? []), message: err.message };
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(body)} to be refused`);
}

describe('endpoint event filters', () => {
  it('accepts every type Ferry sends, each known family, and *', () => {
    const families = ['export.*', 'endpoint.*', 'dataset.*', 'dataset.version.*'];
    for (const events of [[...EVENT_TYPES], families, ['*']]) {
      expect(parseOrThrow(EndpointCreate, { url, events }).events).toEqual(events);
      expect(parseOrThrow(EndpointUpdate, { events }).events).toEqual(events);
    }
    // Each accepted family really matches something Ferry sends, so an endpoint with it can fire.
    for (const family of families) expect(EVENT_TYPES.some((t) => eventMatches([family], t)), family).toBe(true);
  });

  it.each([
    ['export.complete'],
    ['export.Completed'],
    ['exports.*'],
    ['order.*'],
    ['export.completed.*'],
    ['dataset.version'],
    ['export'],
    ['**'],
    [''],
  ])('refuses %j, which no event has, with a 400 listing the known types', (filter) => {
    for (const [schema, body] of [
      [EndpointCreate, { url, events: ['export.failed', filter] }],
      [EndpointUpdate, { events: ['export.failed', filter] }],
    ] as const) {
      const err = refusal(schema, body);
      expect(err).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', path: 'events[1]' });
      for (const type of EVENT_TYPES) expect(err.message).toContain(type);
      expect(err.message).toContain(JSON.stringify(filter));
    }
  });

  it('bounds how many filters an endpoint has and how long each is', () => {
    const many = Array.from({ length: MAX_EVENT_FILTERS + 1 }, () => 'export.completed');
    expect(refusal(EndpointCreate, { url, events: many })).toMatchObject({ status: 400, path: 'events' });
    expect(refusal(EndpointUpdate, { events: many })).toMatchObject({ status: 400, path: 'events' });
    expect(parseOrThrow(EndpointCreate, { url, events: many.slice(1) }).events).toHaveLength(MAX_EVENT_FILTERS);

    const long = `export.${'x'.repeat(10_000)}`;
    const err = refusal(EndpointCreate, { url, events: [long] });
    expect(err).toMatchObject({ status: 400, path: 'events[0]' });
    expect(err.message).toContain(String(MAX_EVENT_FILTER_LENGTH));
    expect(err.message.length).toBeLessThan(200);
  });

  it('refuses an unknown type on the event feed too, instead of answering an empty page', () => {
    expect(parseOrThrow(EventListQuery, { type: 'export.*' }).type).toBe('export.*');
    expect(refusal(EventListQuery, { type: 'export.complete' })).toMatchObject({ status: 400, path: 'type' });
  });
});

describe('endpoint and delivery request bodies', () => {
  it('signs registered endpoints with Standard Webhooks by default and never with the export-only seed scheme', () => {
    expect(parseOrThrow(EndpointCreate, { url, events: ['*'] }).scheme).toBe('standard-webhooks');
    expect(parseOrThrow(EndpointCreate, { url, events: ['*'], scheme: 'secret-header' }).scheme).toBe('secret-header');
    expect(refusal(EndpointCreate, { url, events: ['*'], scheme: 'ferry-hmac' })).toMatchObject({ status: 400, path: 'scheme' });
  });

  it('bounds a custom retry schedule: 1 to 50 delays of 0 s to 7 days', () => {
    const body = (retryScheduleSeconds: number[]) => ({ url, events: ['*'], retryScheduleSeconds });
    expect(parseOrThrow(EndpointCreate, body([0, 7 * 86_400])).retryScheduleSeconds).toEqual([0, 604_800]);
    expect(parseOrThrow(EndpointCreate, body(Array.from({ length: 50 }, () => 60))).retryScheduleSeconds).toHaveLength(50);
    expect(refusal(EndpointCreate, body([]))).toMatchObject({ path: 'retryScheduleSeconds' });
    expect(refusal(EndpointCreate, body(Array.from({ length: 51 }, () => 60)))).toMatchObject({ path: 'retryScheduleSeconds' });
    expect(refusal(EndpointCreate, body([7 * 86_400 + 1]))).toMatchObject({ path: 'retryScheduleSeconds[0]' });
    expect(refusal(EndpointCreate, body([-1]))).toMatchObject({ path: 'retryScheduleSeconds[0]' });
  });

  it('bounds URLs and descriptions, on create and on update', () => {
    const long = `https://hooks.example.com/${'a'.repeat(2048)}`;
    expect(refusal(EndpointCreate, { url: long, events: ['*'] })).toMatchObject({ path: 'url' });
    expect(refusal(EndpointUpdate, { url: long })).toMatchObject({ path: 'url' });
    expect(parseOrThrow(EndpointUpdate, { url }).url).toBe(url);
    expect(parseOrThrow(EndpointCreate, { url, events: ['*'], description: 'd'.repeat(500) }).description).toHaveLength(500);
    expect(refusal(EndpointCreate, { url, events: ['*'], description: 'd'.repeat(501) })).toMatchObject({ path: 'description' });
    expect(parseOrThrow(EndpointUpdate, { description: null }).description).toBeNull();
    expect(refusal(EndpointUpdate, { description: 'd'.repeat(501) })).toMatchObject({ path: 'description' });
  });

  it('pages lists 1 to 1000 at a time, 100 by default, and reads since as a time with its offset', () => {
    expect(parseOrThrow(DeliveryListQuery, {}).limit).toBe(100);
    expect(parseOrThrow(DeliveryListQuery, { limit: '1000' }).limit).toBe(1000);
    expect(refusal(DeliveryListQuery, { limit: '1001' })).toMatchObject({ path: 'limit' });
    expect(refusal(DeliveryListQuery, { limit: '0' })).toMatchObject({ path: 'limit' });
    expect(parseOrThrow(DeliveryListQuery, { status: 'failed' }).status).toBe('failed');
    expect(refusal(DeliveryListQuery, { status: 'lost' })).toMatchObject({ path: 'status' });
    expect(parseOrThrow(RecoverRequest, { since: '2026-01-01T02:00:00+02:00' }).since).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(refusal(RecoverRequest, { since: 'yesterday' })).toMatchObject({ path: 'since' });
  });
});
