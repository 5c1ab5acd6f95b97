/**
 * Everything, for the workspace's own tests. A plugin outside the workspace imports the subpath of
 * its kind instead (`@ferry/testing/store`, `/format`, `/source`, `/jobs`, `/notifier`), which
 * loads nothing another kind needs (DuckDB, express).
 */
export * from './support.js';
export * from './store.js';
export * from './jobs.js';
export * from './format.js';
export * from './source.js';
export * from './receivers.js';
export * from './notifier.js';
