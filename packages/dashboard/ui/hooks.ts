import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError, type ShownError } from './api';

export interface Resource<T> {
  data: T | undefined;
  error: ShownError | undefined;
  loading: boolean;
  /** Load again; keeps showing the current data meanwhile. */
  reload: () => Promise<void>;
}

/**
 * Data loaded by `load`, reloaded when `deps` change, and again every `every(data)` milliseconds
 * while the page is visible (live progress; `false` stops polling). Answers that arrive after a
 * newer load started are dropped.
 */
export function useResource<T>(load: () => Promise<T>, deps: unknown[], options: { every?: (data: T | undefined) => number | false } = {}): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
    } catch (err) {
      if (mine !== generation.current) return;
      setError(describeError(err));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    setData(undefined);
    void reload();
    return () => {
      generation.current++;
    };
    // The caller names what the load depends on (as with React's dependency lists).
  }, deps);

  const interval = options.every?.(data) ?? false;
  useEffect(() => {
    if (interval === false) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void reload();
    }, interval);
    return () => clearInterval(timer);
  }, [interval, reload]);

  return { data, error, loading, reload };
}

/** Run an action (a button's), tracking that it is busy and what went wrong. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ShownError | undefined>(undefined);
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      setBusy(true);
      setError(undefined);
      try {
        return await action(...args);
      } catch (err) {
        setError(describeError(err));
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [action],
  );
  return { run, busy, error };
}
