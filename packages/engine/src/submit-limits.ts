import { FerryError } from '@ferry/core';

export interface SubmitRateOptions {
  /** Submits per second an account may sustain. */
  ratePerSecond: number;
  /** Submits an account may make at once before the rate applies. */
  burst: number;
}

/**
 * Per-account submit rate: a token bucket per account, in this process (each API process
 * enforces it on what it receives). Buckets of accounts that went quiet are dropped.
 */
export class SubmitRateLimiter {
  readonly #buckets = new Map<number, { tokens: number; at: number }>();

  constructor(
    private readonly opts: SubmitRateOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Take one token, or throw RATE_LIMITED saying when the next one comes. */
  take(accountId: number): void {
    const now = this.now();
    const bucket = this.#buckets.get(accountId) ?? { tokens: this.opts.burst, at: now };
    bucket.tokens = Math.min(this.opts.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.opts.ratePerSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.#buckets.set(accountId, bucket);
      const wait = Math.ceil((1 - bucket.tokens) / this.opts.ratePerSecond);
      throw new FerryError('RATE_LIMITED', `too many exports submitted: at most ${this.opts.ratePerSecond} per second (bursts of ${this.opts.burst})`, {
        retryAfterSeconds: Math.max(1, wait),
      });
    }
    bucket.tokens -= 1;
    this.#buckets.set(accountId, bucket);
    if (this.#buckets.size > 10_000) this.#forgetFull(now);
  }

  /** A bucket that refilled completely says nothing: drop it. */
  #forgetFull(now: number): void {
    for (const [id, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.opts.ratePerSecond >= this.opts.burst) this.#buckets.delete(id);
    }
  }
}
