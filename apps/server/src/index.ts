export { buildServer, type ServerDeps } from './server.js';
export { describeDataset } from './datasets.js';
export { registerVersionRoutes, type VersionRoutesDeps } from './versions-routes.js';
export { logSerializers, redactUrl } from './log-serializers.js';
