import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { collectBytes } from '@ferry/core';
import { compress } from './compression.js';
import { DEFAULT_DELIVERY_SCHEDULE_MS, nextDelayMs } from './retry-schedule.js';
import { deliveryId, eventId, fileSlug } from './ids.js';

describe('retry schedule', () => {
  it('is the documented 8 steps: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    expect(DEFAULT_DELIVERY_SCHEDULE_MS).toEqual([0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  });

  it('jitters each step by at most +-20% and ends when the schedule is spent', () => {
    const schedule = [0, 10_000, 3_600_000];
    expect(schedule.map((_, i) => nextDelayMs(schedule, i, () => 0))).toEqual([0, 8_000, 2_880_000]);
    expect(schedule.map((_, i) => nextDelayMs(schedule, i, () => 0.5))).toEqual([0, 10_000, 3_600_000]);
    expect(schedule.map((_, i) => nextDelayMs(schedule, i, () => 1))).toEqual([0, 12_000, 4_320_000]);
    expect(nextDelayMs(schedule, 3, () => 0.5)).toBeNull();
  });
});

describe('gzip', () => {
  it('produces gzip that gunzip reads back', async () => {
    const parts = Array.from({ length: 50 }, (_, i) => Buffer.from(`line ${i},"x"\n`.repeat(1000)));
    const zipped = await collectBytes(compress((async function* () { yield* parts; })(), 'gzip', { level: 6 }));
    expect(gunzipSync(zipped).equals(Buffer.concat(parts))).toBe(true);
  });

  it('passes bytes through untouched for none', async () => {
    const data = [Buffer.from('abc'), Buffer.from('def')];
    expect((await collectBytes(compress((async function* () { yield* data; })(), 'none', { level: 6 }))).toString()).toBe('abcdef');
  });

  it('surfaces a source failure to the consumer', async () => {
    const failing = (async function* () {
      yield Buffer.from('a');
      throw new Error('source broke');
    })();
    await expect(collectBytes(compress(failing, 'gzip', { level: 1 }))).rejects.toThrow('source broke');
  });
});

describe('ids and names', () => {
  it('derives one delivery id per export and event', () => {
    expect(deliveryId('e1', 'export.completed')).toBe(deliveryId('e1', 'export.completed'));
    expect(deliveryId('e1', 'export.completed')).not.toBe(deliveryId('e2', 'export.completed'));
    expect(deliveryId('e1', 'export.completed')).toMatch(/^msg_[A-Za-z0-9]{24}$/);
    expect(eventId('x')).toBe(eventId('x'));
    expect(eventId()).not.toBe(eventId());
    expect(eventId()).toMatch(/^evt_[A-Za-z0-9]{24}$/);
  });

  it('makes safe file names from export names', () => {
    expect(fileSlug('Seattle Rental Data Export')).toBe('Seattle-Rental-Data-Export');
    expect(fileSlug('../../etc/passwd')).toBe('etc-passwd');
    expect(fileSlug('Café Zürich / 2024')).toBe('Cafe-Zurich-2024');
    expect(fileSlug('///')).toBe('export');
  });
});
