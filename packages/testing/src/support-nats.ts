import { describeWithService, probeTcp } from './services.js';

export interface NatsService {
  host: '127.0.0.1';
  port: number;
  /** For `servers` options. No auth. */
  url: string;
}

/** NATS with JetStream on 127.0.0.1:4222, as on the development machines and in CI. */
export const NATS: NatsService = { host: '127.0.0.1', port: 4222, url: 'nats://127.0.0.1:4222' };

/**
 * Probe NATS on 127.0.0.1:4222. Use with top-level await in a test file:
 * `const nats = await requireNats(); describeNats('...', nats, (service) => { ... })`; absent, the
 * suite is skipped with the reason printed, and fails under CI=true.
 */
export async function requireNats(): Promise<{ label: string; value: NatsService; unavailable: string | null }> {
  return { label: 'NATS JetStream', value: NATS, unavailable: await probeTcp(NATS.port) };
}

export const describeNats = describeWithService<NatsService>;
