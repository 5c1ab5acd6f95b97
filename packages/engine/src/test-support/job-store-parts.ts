import type { JobStore, JobStoreParts } from '@ferry/core';

/**
 * `jobs` with its part `name` replaced, everything else the store's own: how a test holds or
 * observes one call (a claim on its way back, a settlement) while the real store does the work.
 */
export function withPart<K extends keyof JobStoreParts>(jobs: JobStore, name: K, part: JobStore[K]): JobStore {
  return new Proxy(jobs, {
    get: (target, key) => {
      if (key === name) return part;
      // Methods run on the store itself: its private fields do not exist on the proxy.
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A hook for such a part: its first call waits until `open()`, later calls pass; `calls` counts them. */
export class FirstCallHeld {
  calls = 0;
  open!: () => void;
  readonly #gate = new Promise<void>((resolve) => (this.open = resolve));
  readonly hook = async (): Promise<void> => {
    if (this.calls++ === 0) await this.#gate;
  };
}
