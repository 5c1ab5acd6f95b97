import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/core';
import { SubmitRateLimiter } from './submit-limits.js';

/* The per-account submit rate (docs/limits.md): a token bucket, on a clock the test moves. */

function limiter(ratePerSecond: number, burst: number) {
  const clock = { ms: 1_000_000 };
  return { clock, rate: new SubmitRateLimiter({ ratePerSecond, burst }, () => clock.ms) };
}

function refusal(take: () => void): FerryError {
  let caught: unknown;
  try {
    take();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FerryError);
  return caught as FerryError;
}

describe('SubmitRateLimiter', () => {
  it('allows a burst at once, then refuses with 429 and when to come back', () => {
    const { rate } = limiter(2, 3);
    for (let i = 0; i < 3; i++) rate.take(1);
    const err = refusal(() => rate.take(1));
    expect([err.code, err.status, err.retryAfterSeconds]).toEqual(['RATE_LIMITED', 429, 1]);
    expect(err.message).toBe('too many exports submitted: at most 2 per second (bursts of 3)');
  });

  it('refills at the rate per second', () => {
    const { clock, rate } = limiter(2, 1);
    rate.take(1);
    clock.ms += 250;
    refusal(() => rate.take(1));
    clock.ms += 250;
    rate.take(1);
    refusal(() => rate.take(1));
  });

  it('counts a refused submit against nothing: the token arrives when it would have', () => {
    const { clock, rate } = limiter(1, 1);
    rate.take(1);
    clock.ms += 500;
    refusal(() => rate.take(1));
    clock.ms += 500;
    rate.take(1);
  });

  it('never holds more than the burst, however long the account was quiet', () => {
    const { clock, rate } = limiter(1, 2);
    rate.take(1);
    clock.ms += 3_600_000;
    rate.take(1);
    rate.take(1);
    refusal(() => rate.take(1));
  });

  it('says how many whole seconds until the next token, at least one', () => {
    const { clock, rate } = limiter(0.25, 1);
    rate.take(1);
    expect(refusal(() => rate.take(1)).retryAfterSeconds).toBe(4);
    clock.ms += 1_000;
    expect(refusal(() => rate.take(1)).retryAfterSeconds).toBe(3);
    clock.ms += 2_500;
    expect(refusal(() => rate.take(1)).retryAfterSeconds).toBe(1);
    const fast = limiter(10, 1).rate;
    fast.take(1);
    expect(refusal(() => fast.take(1)).retryAfterSeconds).toBe(1);
  });

  it('keeps one bucket per account', () => {
    const { rate } = limiter(1, 1);
    rate.take(1);
    refusal(() => rate.take(1));
    rate.take(2);
    refusal(() => rate.take(2));
  });

  it('when it holds many buckets, forgets only those that refilled, so an empty one stays empty', () => {
    const { rate } = limiter(1, 1);
    rate.take(1);
    for (let id = 2; id <= 10_002; id++) rate.take(id);
    refusal(() => rate.take(1));
    refusal(() => rate.take(10_002));
  });
});
