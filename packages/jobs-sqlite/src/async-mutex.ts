/** One holder at a time, served in arrival order. */
export class AsyncMutex {
  #held = false;
  readonly #waiting: Array<() => void> = [];

  /** Run `fn` once every earlier holder is done; a free mutex starts `fn` synchronously. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#held) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#held = true;
    try {
      return await fn();
    } finally {
      // Hand over directly, so that no newcomer can slip in between two waiters.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held = false;
    }
  }
}
