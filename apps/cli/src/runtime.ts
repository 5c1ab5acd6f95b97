import type { AddressInfo } from 'node:net';
import type { DependencyContainer } from 'tsyringe';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { FerryError, TOKENS, type JobStore, type Notifier, type ObjectStore, type QuerySource } from '@ferry/core';
import { AccountService, type DeliveryWorkerOptions, type ExportWorkerOptions, type SchedulerOptions } from '@ferry/engine';
import { logSerializers } from '@ferry/server';
import type { Workers } from '@ferry/worker';
import type { FerryConfig } from './config.js';
import { ROOT, apiContainer, createRootContainer, workerContainer } from './container.js';
import { assertPortFree, portError, prepareDataDir } from './preflight.js';

/**
 * What a process runs: `serve` is the API and the workers in one process (the embedded default);
 * `api` answers HTTP and never claims work; `worker` claims exports, deliveries, schedules and
 * retention and serves no HTTP. Many `api` and `worker` processes can share one job store.
 */
export type Role = 'serve' | 'api' | 'worker';

export interface FerryRuntime {
  role: Role;
  /** Where the API listens, e.g. `http://127.0.0.1:8080`; null for a worker. */
  url: string | null;
  /** Where a worker serves /healthz, /readyz and /metrics; null for other roles (their API serves them). */
  operationsUrl: string | null;
  app: FastifyInstance | null;
  workers: Workers | null;
  jobs: JobStore;
  /** The composition root (tests resolve services from it). */
  container: DependencyContainer;
  /** The key generated at this start, when none was configured or stored; shown once. */
  generatedApiKey: string | null;
  stop(): Promise<void>;
}

export interface RuntimeOverrides {
  role?: Role;
  /** Replace the webhook notifier (tests inject one with their own resolver). */
  notifier?: Notifier;
  exportWorker?: Partial<ExportWorkerOptions>;
  deliveryWorker?: Partial<DeliveryWorkerOptions>;
  /** False: the API role (shorthand kept for tests). */
  workers?: boolean;
  /** The schedule loop's options and clock (tests). */
  scheduler?: Partial<SchedulerOptions> & { now?: () => Date };
  /** FERRY_ADMIN_TOKEN: turns the admin API on and guards /metrics. */
  adminToken?: string;
  /** FERRY_SECRET_KEY: download-link keys, newest first (default: a key kept in the job store). */
  secretKeys?: readonly string[];
  /** Change registrations of the root container before anything is built from it (tests inject faults this way). */
  register?: (di: DependencyContainer) => void;
}

/** Start one Ferry process in `role` (default `serve`). */
export async function startFerry(config: FerryConfig, apiKey?: string, overrides: RuntimeOverrides = {}): Promise<FerryRuntime> {
  const role: Role = overrides.role ?? (overrides.workers === false ? 'api' : 'serve');
  await prepareDataDir(config.dataDir);
  if (role !== 'worker' || config.server.port !== 0) await assertPortFree(config.server.host, config.server.port);
  // People read a terminal; log collectors read JSON lines.
  const pretty = process.stdout.isTTY === true && config.logLevel !== 'silent';
  const logger = pino({
    level: config.logLevel,
    serializers: logSerializers,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
  const root = await createRootContainer(config, logger, overrides);
  const jobs = root.resolve(TOKENS.Jobs) as JobStore;
  const publicUrl = root.resolve(ROOT.PublicUrl);
  let app: FastifyInstance | null = null;
  let ops: FastifyInstance | null = null;
  let url: string | null = null;
  let operationsUrl: string | null = null;
  let workers: Workers | null = null;
  let generatedApiKey: string | null = null;

  const closePlugins = async () => {
    await root.resolve(ROOT.Snapshots).close();
    await Promise.all([...(root.resolve(TOKENS.Sources) as ReadonlyMap<string, QuerySource>).values()].map((s) => s.close()));
    await (root.resolve(TOKENS.Notifier) as Notifier).close?.();
    if (root.isRegistered(ROOT.Sinks)) await Promise.all([...root.resolve(ROOT.Sinks).values()].map((sink) => sink.close?.()));
    await (root.resolve(TOKENS.Store) as ObjectStore).close?.();
    await jobs.close();
  };
  try {
    if (role !== 'worker') {
      const api = apiContainer(root);
      generatedApiKey = await api.resolve(AccountService).bootstrap(apiKey);
      app = api.resolve(ROOT.App);
      url = await listen(app, config);
      publicUrl.value ||= url;
    } else if (!publicUrl.value) {
      // Completion webhooks carry download links, which point at the API processes.
      if (config.server.port === 0) throw new FerryError('INVALID_CONFIG', 'a worker needs FERRY_PUBLIC_URL (server.publicUrl): the API address its download links point at', { path: ['server', 'publicUrl'] });
      publicUrl.value = `http://${config.server.host}:${config.server.port}`;
    }
    if (role !== 'api') {
      const worker = workerContainer(root);
      if (role === 'worker') {
        ops = worker.resolve(ROOT.OperationsApp);
        operationsUrl = await listen(ops, config);
      }
      workers = worker.resolve(ROOT.Workers);
      root.resolve(ROOT.Poke).add(workers.poke);
      await workers.start();
    }
  } catch (err) {
    if (app) await closeServer(app);
    if (ops) await closeServer(ops);
    await workers?.stop();
    await closePlugins();
    throw err;
  }
  logger.info({ role, url, operationsUrl, dataDir: config.dataDir, publicUrl: publicUrl.value, jobs: jobs.name }, 'ferry started');

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (app) await closeServer(app);
      await workers?.stop();
      if (ops) await closeServer(ops);
      await closePlugins();
    })());
  return { role, url, operationsUrl, app, workers, jobs, container: root, generatedApiKey, stop };
}

async function listen(app: FastifyInstance, config: FerryConfig): Promise<string> {
  await app.listen({ port: config.server.port, host: config.server.host }).catch((err: NodeJS.ErrnoException) => {
    throw portError(config.server.host, config.server.port, err);
  });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** How long open requests (a download in progress, say) may hold up a shutdown. */
const SHUTDOWN_GRACE_MS = 10_000;

/** Stop accepting requests; those in progress get a grace period, then their connections are closed. */
async function closeServer(app: FastifyInstance): Promise<void> {
  const timer = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
