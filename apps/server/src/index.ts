export { buildServer, buildOperationsServer, type ServerDeps, type OperationsDeps } from './server.js';
export { describeDataset } from './datasets.js';
export { type VersionRoutesDeps } from './routes/versions.js';
export { type ReadinessCheck } from './routes/operations.js';
export { FerryMetrics } from './metrics.js';
export { logSerializers, redactUrl } from './log-serializers.js';
