import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';
import type { ExportRequest, ExportStatus, Submitted } from './types.js';
import { FerryApiError } from './errors.js';
import { waitForExport, type WaitOptions } from './wait.js';
import { downloadExport, type DownloadOptions } from './download.js';

export type FetchLike = (input: Request) => Promise<Response>;

export interface FerryClientOptions {
  /** Where the API listens, e.g. `https://ferry.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** The account's key, sent as `x-api-key` on every API call (never on download links). */
  apiKey?: string;
  /** The operator token (`FERRY_ADMIN_TOKEN`), sent as `Authorization: Bearer` for `/admin`, `/metrics` and publishing. */
  adminToken?: string;
  /** A fetch to use instead of the global one (a proxy agent, retries, tests). */
  fetch?: FetchLike;
  /** Extra headers on every API call, e.g. a `user-agent`. */
  headers?: Record<string, string>;
}

/** The typed openapi-fetch client: `GET`, `POST`, `PATCH`, `DELETE`... for every route of the spec. */
export type FerryApi = Client<paths>;

export interface FerryClient extends FerryApi {
  /** Submit an export; throws `FerryApiError` on any error answer. */
  submitExport(request: ExportRequest, options?: { signal?: AbortSignal }): Promise<Submitted>;
  /** An export's status; throws `FerryApiError` on any error answer (404 when it is not yours). */
  getExport(queryUUID: string, options?: { signal?: AbortSignal }): Promise<ExportStatus>;
  /** Poll until the export completes (its final status); throws `ExportFailedError` if it fails or expires. */
  waitForExport(queryUUID: string, options?: WaitOptions): Promise<ExportStatus>;
  /** Stream every file of a completed export (and a split export's manifest) into `dir`, each checked; the written paths. */
  downloadExport(queryUUID: string, options: DownloadOptions): Promise<string[]>;
}

/** Which method each answer was for, so `unwrap` can name the request in its error. */
const methods = new WeakMap<Response, string>();

/** A typed client for every route of Ferry's API, plus the export helpers. */
export function createFerryClient(options: FerryClientOptions): FerryClient {
  const baseFetch: FetchLike = options.fetch ?? ((request) => globalThis.fetch(request));
  const fetch: FetchLike = async (request) => {
    const response = await baseFetch(request);
    methods.set(response, request.method);
    return response;
  };
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers['x-api-key'] = options.apiKey;
  if (options.adminToken) headers.authorization = `Bearer ${options.adminToken}`;
  const api = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), fetch, headers });

  const getExport = async (queryUUID: string, opts: { signal?: AbortSignal } = {}) =>
    unwrap(await api.GET('/dataset/export/{queryUUID}', { params: { path: { queryUUID } }, signal: opts.signal }));

  return {
    ...api,
    submitExport: async (request, opts = {}) => unwrap(await api.POST('/dataset/export', { body: request, signal: opts.signal })),
    getExport,
    waitForExport: (queryUUID, opts) => waitForExport(getExport, queryUUID, opts),
    // Download links are self-authenticating: the API key must not travel with them (they may redirect to a store).
    downloadExport: (queryUUID, opts) => downloadExport({ getExport, fetch: baseFetch }, queryUUID, opts),
  };
}

/**
 * The data of a typed call's answer, or a `FerryApiError` for an error answer:
 * `const { data } = unwrap(await client.GET('/dataset/export', { params: { query: { state: 'running' } } }))`.
 */
export function unwrap<D>(result: { data?: D; error?: unknown; response: Response }): D {
  if (result.response.ok) return result.data as D;
  throw FerryApiError.from(result.response, result.error ?? null, methods.get(result.response));
}
