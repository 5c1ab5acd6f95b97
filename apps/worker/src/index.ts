import type { Notifier } from '@ferry/core';
import {
  DeliveryWorker,
  ExportWorker,
  RetentionSweeper,
  type RetentionOptions,
  type DeliveryWorkerOptions,
  type ExportWorkerDeps,
  type ExportWorkerOptions,
} from '@ferry/engine';

/** What the export runner needs, plus the notifier for deliveries. */
export type WorkerDeps = ExportWorkerDeps & { notifier: Notifier };

export interface Workers {
  exports: ExportWorker;
  deliveries: DeliveryWorker;
  retention: RetentionSweeper;
  start(): void;
  /** Stop claiming; finish or release the running export; let in-flight deliveries record. */
  stop(): Promise<void>;
}

/** The background half of Ferry: export runner and webhook delivery, sharing one job store. */
export function createWorkers(
  deps: WorkerDeps,
  options: { exports?: Partial<ExportWorkerOptions>; deliveries?: Partial<DeliveryWorkerOptions>; retention?: Partial<RetentionOptions> } = {},
): Workers {
  const exports = new ExportWorker(deps, options.exports);
  const deliveries = new DeliveryWorker(deps, options.deliveries);
  const retention = new RetentionSweeper(deps, options.retention);
  return {
    exports,
    deliveries,
    retention,
    start() {
      exports.start();
      deliveries.start();
      retention.start();
    },
    async stop() {
      await Promise.all([exports.stop(), deliveries.stop(), retention.stop()]);
    },
  };
}
