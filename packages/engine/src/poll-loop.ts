/**
 * Runs `tick` until stopped: immediately again when it did work, after `idleMs` when it did not.
 * Errors are reported and the loop goes on; a store outage must not kill the worker.
 */
export class PollLoop {
  #running = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #done: Promise<void> = Promise.resolve();

  constructor(
    private readonly tick: () => Promise<boolean>,
    private readonly idleMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#done = this.#run();
  }

  /** Skip the idle wait (e.g. right after new work was enqueued in this process). */
  poke(): void {
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.poke();
    await this.#done;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let worked = false;
      try {
        worked = await this.tick();
      } catch (err) {
        this.onError(err);
      }
      if (!worked && this.#running) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, this.idleMs);
        });
        clearTimeout(this.#timer);
        this.#wake = undefined;
      }
    }
  }
}

/** A sleep that ends early when woken: workers wait on it for a timer, a freed slot or a hint of new work. */
export class Alarm {
  readonly #sleepers = new Set<() => void>();
  #wakes = 0;

  /**
   * How many times it was woken. A wake with nobody asleep wakes nobody: a worker compares this
   * before and after a claim, since a wake meanwhile may postdate what the claim read.
   */
  get wakes(): number {
    return this.#wakes;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
    });
  }

  wake(): void {
    this.#wakes++;
    for (const done of this.#sleepers) done();
  }
}
