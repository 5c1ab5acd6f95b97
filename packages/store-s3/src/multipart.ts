import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface UploadTarget {
  Bucket: string;
  Key: string;
  ContentType: string;
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
}

export interface UploadLimits {
  partSize: number;
  queueSize: number;
  signal?: AbortSignal;
}

/**
 * Stream `body` into one object. Bodies shorter than a part go up with a single PutObject; longer ones
 * as a multipart upload with at most `queueSize` parts in flight.
 *
 * Why not @aws-sdk/lib-storage's Upload: it copies every part (Buffer.concat of the incoming chunks)
 * and allocates fresh part buffers throughout, so a 64 MiB put leaves ~64 MiB of garbage behind; it
 * does not cancel the request in flight on abort; and it rejects `done()` on abort before its own
 * cleanup has run. Here each byte is copied once into one of `queueSize + 1` reused part buffers, so
 * memory is fixed at partSize x (queueSize + 1), and the caller's signal reaches every request.
 *
 * The object becomes visible only at CompleteMultipartUpload (or the single PutObject). On any failure
 * the multipart upload is aborted after its in-flight parts settle, so no parts linger and are billed.
 */
export async function streamUpload(client: S3Client, target: UploadTarget, body: AsyncIterable<Uint8Array>, limits: UploadLimits): Promise<void> {
  const { partSize, queueSize, signal } = limits;
  const send = { abortSignal: signal };
  const free: Buffer[] = [];
  const take = () => free.pop() ?? Buffer.allocUnsafe(partSize);
  const inflight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let uploadId: string | undefined;
  let failure: { error: unknown } | undefined;
  let partNumber = 0;

  const sendPart = async (buffer: Buffer, length: number): Promise<void> => {
    uploadId ??= (await client.send(new CreateMultipartUploadCommand(target), send)).UploadId;
    if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    while (inflight.size >= queueSize) await Promise.race(inflight);
    if (failure) throw failure.error;
    const number = ++partNumber;
    const id = uploadId;
    const task = client
      .send(new UploadPartCommand({ Bucket: target.Bucket, Key: target.Key, UploadId: id, PartNumber: number, Body: buffer.subarray(0, length), ContentLength: length }), send)
      .then((res) => {
        parts.push({ PartNumber: number, ETag: res.ETag });
        // The response means S3 has the whole body: the buffer can take the next part.
        free.push(buffer);
      })
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => inflight.delete(task));
    inflight.add(task);
  };

  let current = take();
  let filled = 0;
  try {
    for await (const chunk of body) {
      for (let offset = 0; offset < chunk.byteLength; ) {
        const n = Math.min(partSize - filled, chunk.byteLength - offset);
        current.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === partSize) {
          await sendPart(current, filled);
          current = take();
          filled = 0;
        }
      }
    }
    if (uploadId === undefined) {
      await client.send(new PutObjectCommand({ ...target, Body: current.subarray(0, filled), ContentLength: filled }), send);
      return;
    }
    if (filled > 0) await sendPart(current, filled);
    await Promise.all(inflight);
    if (failure) throw failure.error;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await client.send(new CompleteMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), send);
  } catch (err) {
    await Promise.allSettled(inflight);
    if (uploadId !== undefined) {
      // Not tied to the caller's signal: cleanup must run precisely when that signal has fired.
      await client.send(new AbortMultipartUploadCommand({ Bucket: target.Bucket, Key: target.Key, UploadId: uploadId })).catch(() => {});
    }
    throw err;
  }
}
