export { postgresSource } from './plugin.js';
export { PostgresSource } from './source.js';
export { PostgresSourceOptions } from './options.js';
