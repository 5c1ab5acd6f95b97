export { duckdbSource } from './plugin.js';
export { DuckDBSource } from './source.js';
export { DuckDBSourceOptions } from './options.js';
