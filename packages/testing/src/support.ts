/** `@ferry/testing/support`: local services for tests, the loopback guard, waiting for a condition. Nothing heavy. */
export { describePostgres, describeWithService, probeTcp, requirePostgres, POSTGRES, type PostgresService } from './services.js';
export { describeNats, requireNats, NATS, type NatsService } from './support-nats.js';
export { guardLoopbackOnly, type LoopbackGuard } from './loopback-guard.js';
export { waitFor } from './wait.js';
export { withFileLock } from './file-lock.js';
export { TS_CHILD_NODE_ARGS } from './ts-child.js';
