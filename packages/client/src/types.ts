import type { components, paths } from './schema.js';

type Schemas = components['schemas'];

/** The body of `POST /dataset/export`. */
export type ExportRequest = paths['/dataset/export']['post']['requestBody']['content']['application/json'];
/** Its `201` answer: the export's id and, for `webhookScheme` secret-header or standard-webhooks, the secret. */
export type Submitted = Schemas['Submitted'];
/** `GET /dataset/export/{queryUUID}`. */
export type ExportStatus = Schemas['ExportStatus'];
export type ExportSummary = Schemas['ExportSummary'];
export type ExportState = ExportStatus['state'];
export type ExportFile = ExportStatus['files'][number];
/** What `waitForExport` reports as it changes. */
export type ExportProgress = { state: ExportState; rows: number; bytes: number };
/** The body of every error answer. */
export type ApiErrorBody = Schemas['Error'];
export type ErrorCode = ApiErrorBody['error']['code'];
export type Dataset = Schemas['Dataset'];
export type Endpoint = Schemas['Endpoint'];
export type Delivery = Schemas['Delivery'];
export type FerryEvent = Schemas['Event'];
export type DatasetVersion = Schemas['DatasetVersion'];
export type Schedule = Schemas['Schedule'];
export type Account = Schemas['Account'];
export type ApiKey = Schemas['ApiKey'];
export type CreatedKey = Schemas['CreatedKey'];
