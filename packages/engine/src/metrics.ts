/**
 * What the workers report as they go. The engine imports no metrics library: the composition root
 * passes an implementation (Prometheus in the apps), or nothing.
 */
export interface EngineMetrics {
  exportEnded(e: { format: string; outcome: 'completed' | 'failed' | 'retried' | 'released'; seconds: number; rows: number; bytes: number }): void;
  webhookAttempt(a: { outcome: 'succeeded' | 'retried' | 'failed'; status: number | null; seconds: number }): void;
  endpointDisabled(): void;
  leaseLost(kind: 'export'): void;
}

export const NO_METRICS: EngineMetrics = {
  exportEnded() {},
  webhookAttempt() {},
  endpointDisabled() {},
  leaseLost() {},
};
