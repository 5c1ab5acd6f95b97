export { buildServer, type ServerDeps } from './server.js';
export { describeDataset } from './datasets.js';
