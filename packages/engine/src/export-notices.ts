import type { ExportJob, ExportResult, NewDelivery, WebhookPayload } from '@ferry/core';
import type { DownloadLinks } from './download-links.js';
import { deliveryId } from './ids.js';

/** A message to the export's own webhook URL. The seed scheme's header always travels with it. */
function toExportEndpoint(job: ExportJob, eventType: string, body: string, at: Date): NewDelivery {
  const id = deliveryId(job.id, eventType);
  return {
    id,
    accountId: job.accountId,
    endpointId: job.endpointId,
    messageId: id,
    exportId: job.id,
    eventType,
    body,
    headers: { 'SHA256-HMAC-Signature': job.hmacSignature },
    createdAt: at,
  };
}

/** The seed 001 payload, field for field; a split export adds every file's link and the manifest. */
export function completionNotice(job: ExportJob, result: ExportResult, links: DownloadLinks): NewDelivery {
  const payload: WebhookPayload = {
    queryUUID: job.id,
    name: job.name,
    format: job.format,
    payload: job.query,
    hmacSignature: job.hmacSignature,
    gcsBlob: {
      url: links.url({ exportId: job.id, expiresAt: result.expiresAt }),
      expires: result.expiresAt.toISOString(),
      timeTakenMs: result.timeTakenMs,
      numberRows: result.numberRows,
    },
    requestedOn: job.requestedAt.toISOString(),
    completedOn: result.finishedAt.toISOString(),
  };
  const body =
    result.files.length === 1
      ? payload
      : {
          ...payload,
          files: result.files.map((f, i) => ({
            url: links.url({ exportId: job.id, expiresAt: result.expiresAt, file: i }),
            name: f.fileName,
            rows: f.rows,
            bytes: f.bytes,
            sha256: f.sha256,
          })),
          manifestUrl: links.url({ exportId: job.id, expiresAt: result.expiresAt, file: 'manifest' }),
        };
  return toExportEndpoint(job, 'export.completed', JSON.stringify(body), result.finishedAt);
}

/** Opt-in failure notice to the export's webhook URL (not part of the seeds: they stay silent on failure). */
export function failureNotice(job: ExportJob, reason: string, at: Date): NewDelivery {
  const body = {
    queryUUID: job.id,
    name: job.name,
    format: job.format,
    payload: job.query,
    hmacSignature: job.hmacSignature,
    error: { reason },
    requestedOn: job.requestedAt.toISOString(),
    failedOn: at.toISOString(),
  };
  return toExportEndpoint(job, 'export.failed', JSON.stringify(body), at);
}
