import type { Scheduler } from '@ferry/engine';
import type { DeliveryWorker, ExportWorker, RetentionSweeper } from '@ferry/engine';

/** The background half of Ferry: exports, webhook deliveries, retention and schedules, sharing one job store. */
export interface Workers {
  exports: ExportWorker;
  deliveries: DeliveryWorker;
  retention: RetentionSweeper;
  scheduler: Scheduler;
  start(): Promise<void>;
  /** Look for new work now (an export or a delivery was queued in this process). */
  poke(): void;
  /** Stop claiming; finish or release running exports; let in-flight deliveries record. */
  stop(): Promise<void>;
}

export function composeWorkers(parts: Pick<Workers, 'exports' | 'deliveries' | 'retention' | 'scheduler'>): Workers {
  const { exports, deliveries, retention, scheduler } = parts;
  return {
    ...parts,
    async start() {
      exports.start();
      deliveries.start();
      retention.start();
      await scheduler.start();
    },
    poke() {
      exports.poke();
      deliveries.poke();
    },
    async stop() {
      await Promise.all([exports.stop(), deliveries.stop(), retention.stop(), scheduler.stop()]);
    },
  };
}
