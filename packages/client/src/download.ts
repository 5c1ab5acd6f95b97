import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { DownloadError, ExportFailedError, FerryApiError } from './errors.js';
import type { ExportFile, ExportStatus } from './types.js';

export interface DownloadOptions {
  /** Where the files go (created if missing). Files of the same name are replaced. */
  dir: string;
  /** Stops the download; the file being written is removed. */
  signal?: AbortSignal;
}

type Deps = {
  getExport: (queryUUID: string, options: { signal?: AbortSignal }) => Promise<ExportStatus>;
  fetch: (input: Request) => Promise<Response>;
};

type Manifest = { files?: Array<{ name?: unknown; rows?: unknown; bytes?: unknown; sha256?: unknown }> };

/**
 * Every file of a completed export, then the manifest of a split one, streamed to disk. Each file
 * is written under a temporary name and only renamed into place once its size and SHA-256 match
 * the status; the manifest must list exactly those files. Returns the paths written, in order.
 */
export async function downloadExport(deps: Deps, queryUUID: string, options: DownloadOptions): Promise<string[]> {
  const { dir, signal } = options;
  const status = await deps.getExport(queryUUID, { signal });
  if (status.state === 'failed' || status.state === 'expired') throw new ExportFailedError(queryUUID, status.state, status.error ?? status.state);
  if (status.state !== 'completed') throw new DownloadError('EXPORT_NOT_COMPLETED', `export ${queryUUID} is ${status.state}; wait for it first (waitForExport)`);
  const files: ExportFile[] = status.files.length > 0 ? status.files : status.download ? [{ ...status.download, rows: status.numberRows ?? 0 }] : [];
  await mkdir(dir, { recursive: true });

  const written: string[] = [];
  for (const file of files) {
    const target = join(dir, safeFileName(file.fileName));
    await fetchVerified(deps.fetch, file.url, target, signal, (got) => {
      if (got.bytes !== file.bytes) return new DownloadError('SIZE_MISMATCH', `${file.fileName}: got ${got.bytes} bytes, the export has ${file.bytes}`, file.fileName);
      if (got.sha256 !== file.sha256) return new DownloadError('CHECKSUM_MISMATCH', `${file.fileName}: SHA-256 ${got.sha256} differs from the export's ${file.sha256}`, file.fileName);
      return null;
    });
    written.push(target);
  }
  if (status.manifestUrl) written.push(await fetchManifest(deps.fetch, status.manifestUrl, dir, queryUUID, files, signal));
  return written;
}

/** The manifest has no checksum of its own in the status: it is checked against the files it lists. */
async function fetchManifest(fetch: Deps['fetch'], url: string, dir: string, queryUUID: string, files: ExportFile[], signal: AbortSignal | undefined): Promise<string> {
  let target = join(dir, `${queryUUID}.manifest.json`);
  await fetchVerified(
    fetch,
    url,
    (response) => (target = join(dir, safeFileName(attachmentName(response) ?? basename(target)))),
    signal,
    async (_got, part) => {
      const listed = (JSON.parse(await readFile(part, 'utf8')) as Manifest).files ?? [];
      const same =
        listed.length === files.length &&
        listed.every((m, i) => m.name === files[i]!.fileName && m.sha256 === files[i]!.sha256 && m.bytes === files[i]!.bytes && m.rows === files[i]!.rows);
      return same ? null : new DownloadError('MANIFEST_MISMATCH', `the manifest of export ${queryUUID} does not list the files the status gives`, basename(target));
    },
  );
  return target;
}

/**
 * GET `url` into a temporary file next to the target, hashing as it streams; `check` decides
 * whether it may take the target's name. Anything else (an error answer, an abort, a failed check)
 * removes it.
 */
async function fetchVerified(
  fetch: Deps['fetch'],
  url: string,
  target: string | ((response: Response) => string),
  signal: AbortSignal | undefined,
  check: (got: { bytes: number; sha256: string }, part: string) => DownloadError | null | Promise<DownloadError | null>,
): Promise<void> {
  const response = await fetch(new Request(url, signal ? { signal } : {}));
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => '');
    throw FerryApiError.from(response, parseJson(text), 'GET');
  }
  const path = typeof target === 'string' ? target : target(response);
  const part = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.part`);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    await pipeline(
      Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(part),
      signal ? { signal } : {},
    );
    const failed = await check({ bytes, sha256: hash.digest('hex') }, part);
    if (failed) throw failed;
    await rename(part, path);
  } catch (err) {
    await rm(part, { force: true });
    if (err instanceof DownloadError || signal?.aborted) throw err;
    throw new DownloadError('DOWNLOAD_FAILED', `downloading ${basename(path)} failed: ${(err as Error).message}`, basename(path), { cause: err });
  }
}

/** A name the server gave, used as a plain file name inside `dir` and never as a path. */
function safeFileName(name: string): string {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new DownloadError('UNSAFE_FILE_NAME', `refusing to write a file named ${JSON.stringify(name)}`, name);
  }
  return name;
}

/** The file name of a `Content-Disposition: attachment` answer (RFC 6266), the exact UTF-8 one first. */
function attachmentName(response: Response): string | undefined {
  const header = response.headers.get('content-disposition');
  if (!header) return undefined;
  const extended = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!.trim());
    } catch {
      // fall back to the plain name
    }
  }
  return /filename="([^"]*)"/i.exec(header)?.[1];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
