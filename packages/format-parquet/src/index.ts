export { parquetFormat } from './plugin.js';
export { parquetOptionsSchema, DEFAULT_ROW_GROUP_ROWS, type ParquetOptions } from './options.js';
export { ParquetWriter } from './writer.js';
