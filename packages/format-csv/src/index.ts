export { csvFormat } from './plugin.js';
export { csvOptionsSchema, type CsvOptions } from './options.js';
export { CsvBatchEncoder } from './encoder.js';
