import { note } from './output.js';

/**
 * Run `work` with a signal that Ctrl-C (or SIGTERM) aborts. Interrupted, it says what is left
 * (`message`) and exits 130, the shell's code for SIGINT, instead of printing a stack.
 */
export async function untilInterrupted<T>(work: (signal: AbortSignal) => Promise<T>, message: string): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await work(controller.signal);
  } catch (err) {
    if (controller.signal.aborted) {
      note(`\n${message}`);
      process.exit(130);
    }
    throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
