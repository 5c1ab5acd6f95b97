import { describe, expect, it } from 'vitest';
import { Compression, ExportFormat, ExportListRequest, ExportRequest, ExportState, WebhookPayload } from './export.js';
import { refusal } from './test-support/refusal.js';


const request = { dataset: { scopes: [{ column: 'msa' }] }, webhookURL: 'https://example.com/h', name: 'rents', format: 'csv' };

describe('export formats and compression', () => {
  it.each(['csv', 'jsonl', 'parquet', 'arrow', 'x', 'csv-semicolon', 'tsv_2', 'f'.repeat(64)])('accepts the format name %j', (name) => {
    expect(ExportFormat.parse(name)).toBe(name);
  });

  it.each(['', 'CSV', '1csv', '-csv', 'csv!', 'c sv', 'csv\n'])('refuses the format name %j', (name) => {
    expect(refusal(ExportFormat, name)).toEqual({ path: '', message: 'a format name, e.g. csv' });
  });

  it('bounds a format name to 64 characters and documents the open set', () => {
    expect(refusal(ExportFormat, 'f'.repeat(65))).toEqual({ path: '', message: 'Too big: expected string to have <=64 characters' });
    expect(ExportFormat.description).toBe('One of the formats this install offers (GET /datasets lists them): csv, jsonl, parquet and arrow by default.');
  });

  it('offers gzip, zstd and none, and names the export states', () => {
    expect(Compression.options).toEqual(['gzip', 'zstd', 'none']);
    expect(ExportState.options).toEqual(['queued', 'running', 'completed', 'failed', 'expired']);
  });
});

describe('export requests', () => {
  it('accepts the seed body and every option', () => {
    expect(ExportRequest.parse(request)).toEqual(request);
    const full = {
      ...request,
      name: '  rents  ',
      compression: 'zstd',
      webhookScheme: 'standard-webhooks',
      maxFileRows: 1,
      maxFileBytes: 1024 * 1024,
      notifyOnFailure: true,
    };
    expect(ExportRequest.parse(full)).toEqual({ ...full, name: 'rents' });
    for (const webhookScheme of ['ferry-hmac', 'secret-header', 'standard-webhooks']) expect(ExportRequest.parse({ ...request, webhookScheme }).webhookScheme).toBe(webhookScheme);
    expect(ExportRequest.parse({ ...request, name: 'n'.repeat(256), webhookURL: 'u'.repeat(2048) }).name).toHaveLength(256);
  });

  it.each([
    ['a blank name', { name: '   ' }, 'name', 'name must not be empty'],
    ['a 257-character name', { name: 'n'.repeat(257) }, 'name', 'Too big: expected string to have <=256 characters'],
    ['an empty webhook URL', { webhookURL: '' }, 'webhookURL', 'Too small: expected string to have >=1 characters'],
    ['a 2049-character webhook URL', { webhookURL: 'u'.repeat(2049) }, 'webhookURL', 'Too big: expected string to have <=2048 characters'],
    ['an unknown compression', { compression: 'br' }, 'compression', 'Invalid option: expected one of "gzip"|"zstd"|"none"'],
    ['an unknown signing scheme', { webhookScheme: 'hmac' }, 'webhookScheme', 'Invalid option: expected one of "ferry-hmac"|"secret-header"|"standard-webhooks"'],
    ['zero rows per file', { maxFileRows: 0 }, 'maxFileRows', 'Too small: expected number to be >0'],
    ['fractional rows per file', { maxFileRows: 1.5 }, 'maxFileRows', 'Invalid input: expected int, received number'],
    ['files under 1 MiB', { maxFileBytes: 1024 * 1024 - 1 }, 'maxFileBytes', 'maxFileBytes is at least 1 MiB'],
    ['a notifyOnFailure that is not a boolean', { notifyOnFailure: 'yes' }, 'notifyOnFailure', 'Invalid input: expected boolean, received string'],
    ['a bad query', { dataset: { scopes: [] } }, 'dataset.scopes', 'at least one scope is required'],
    ['an unknown field', { hmacSignature: 'x' }, '', 'unknown field(s): hmacSignature'],
  ])('refuses %s', (_what, change, path, message) => {
    expect(refusal(ExportRequest, { ...request, ...change })).toEqual({ path, message });
  });
});

describe('the completion webhook', () => {
  const payload = {
    queryUUID: '2f1c9a8e-4b7d-4c3e-9f1a-0b2c3d4e5f60',
    name: 'rents',
    format: 'csv',
    payload: { scopes: [{ column: 'msa' }] },
    hmacSignature: 'a'.repeat(64),
    gcsBlob: { url: 'https://files.example.com/x.csv.gz', expires: '2026-01-02T00:00:00Z', timeTakenMs: 0, numberRows: 0 },
    requestedOn: '2026-01-01T00:00:00Z',
    completedOn: '2026-01-01T00:00:01.5Z',
  };

  it('matches seed 001 field for field', () => {
    expect(WebhookPayload.parse(payload)).toEqual(payload);
  });

  it.each([
    ['a query id that is not a UUID', { queryUUID: 'q-1' }, 'queryUUID'],
    ['an upper-case signature', { hmacSignature: 'A'.repeat(64) }, 'hmacSignature'],
    ['a short signature', { hmacSignature: 'a'.repeat(63) }, 'hmacSignature'],
    ['a long signature', { hmacSignature: 'a'.repeat(65) }, 'hmacSignature'],
    ['a negative duration', { gcsBlob: { ...payload.gcsBlob, timeTakenMs: -1 } }, 'gcsBlob.timeTakenMs'],
    ['a fractional row count', { gcsBlob: { ...payload.gcsBlob, numberRows: 1.5 } }, 'gcsBlob.numberRows'],
    ['a file URL that is not a URL', { gcsBlob: { ...payload.gcsBlob, url: 'x.csv' } }, 'gcsBlob.url'],
    ['an expiry that is not a time', { gcsBlob: { ...payload.gcsBlob, expires: 'tomorrow' } }, 'gcsBlob.expires'],
    ['a request time that is not a time', { requestedOn: '2026-01-01' }, 'requestedOn'],
    ['an extra field in the blob', { gcsBlob: { ...payload.gcsBlob, size: 1 } }, 'gcsBlob'],
  ])('refuses %s', (_what, change, path) => {
    expect(refusal(WebhookPayload, { ...payload, ...change }).path).toBe(path);
  });
});

describe('listing exports', () => {
  it('pages 1 to 100 at a time, 20 by default, optionally by state', () => {
    expect(ExportListRequest.parse({})).toEqual({ limit: 20 });
    expect(ExportListRequest.parse({ state: 'failed', starting_after: 'exp_1', limit: '100' })).toEqual({ state: 'failed', starting_after: 'exp_1', limit: 100 });
    expect(ExportListRequest.parse({ limit: '1' }).limit).toBe(1);
    expect(refusal(ExportListRequest, { limit: '101' })).toEqual({ path: 'limit', message: 'Too big: expected number to be <=100' });
    expect(refusal(ExportListRequest, { limit: '0' })).toEqual({ path: 'limit', message: 'Too small: expected number to be >=1' });
    expect(refusal(ExportListRequest, { limit: '1.5' })).toMatchObject({ path: 'limit' });
    expect(refusal(ExportListRequest, { state: 'done' })).toMatchObject({ path: 'state' });
    expect(refusal(ExportListRequest, { starting_after: '' })).toEqual({ path: 'starting_after', message: 'Too small: expected string to have >=1 characters' });
    expect(refusal(ExportListRequest, { offset: '1' })).toEqual({ path: '', message: 'unknown field(s): offset' });
  });
});
