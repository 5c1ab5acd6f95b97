export { arrowFormat } from './plugin.js';
export { arrowOptionsSchema, type ArrowOptions } from './options.js';
export { ArrowStreamWriter } from './writer.js';
