export { createFerryClient, unwrap, type FerryClient, type FerryClientOptions, type FerryApi, type FetchLike } from './client.js';
export type { WaitOptions } from './wait.js';
export type { DownloadOptions } from './download.js';
export { FerryClientError, FerryApiError, ExportFailedError, DownloadError, type DownloadErrorCode } from './errors.js';
export type * from './types.js';
export type { paths, components, operations } from './schema.js';
export * from './webhooks/index.js';
