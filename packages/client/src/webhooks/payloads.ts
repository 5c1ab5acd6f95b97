/** The webhook an export sends to its `webhookURL` when it completes: seed 001's payload, field for field. */
export interface ExportCompletedWebhook {
  queryUUID: string;
  name: string;
  format: string;
  /** The dataset query exactly as submitted. */
  payload: unknown;
  /** Hex HMAC-SHA256 of `JSON.stringify(payload)`, keyed by the API key that submitted the export. */
  hmacSignature: string;
  gcsBlob: { url: string; expires: string; timeTakenMs: number; numberRows: number };
  requestedOn: string;
  completedOn: string;
  /** A split export: every file (the first is also `gcsBlob.url`). */
  files?: Array<{ url: string; name: string; rows: number; bytes: number; sha256: string }>;
  /** A split export: its manifest. */
  manifestUrl?: string;
}

/** Sent instead when the export fails, only if it was submitted with `notifyOnFailure: true`. */
export interface ExportFailedWebhook {
  queryUUID: string;
  name: string;
  format: string;
  payload: unknown;
  hmacSignature: string;
  error: { reason: string };
  requestedOn: string;
  failedOn: string;
}

export type ExportWebhook = ExportCompletedWebhook | ExportFailedWebhook;

/** Tells the two export webhooks apart. */
export function isExportCompleted(webhook: ExportWebhook): webhook is ExportCompletedWebhook {
  return 'gcsBlob' in webhook;
}
