export { jsonlFormat } from './plugin.js';
export { jsonlOptionsSchema, type JsonlOptions } from './options.js';
export { JsonlBatchEncoder } from './encoder.js';
