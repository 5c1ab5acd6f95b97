import 'reflect-metadata';
import { mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { container, type DependencyContainer } from 'tsyringe';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import {
  FerryError,
  TOKENS,
  createCatalog,
  type Catalog,
  type DatasetDefinition,
  type FormatWriter,
  type JobStore,
  type Notifier,
  type ObjectStore,
  type PluginContext,
  type QuerySource,
} from '@ferry/core';
import { DownloadLinks, DownloadService, ExportService, WebhookService, generateApiKey, hashApiKey } from '@ferry/engine';
import { checkVersionSchedules, type DeliveryWorkerOptions, type ExportWorkerOptions, type SchedulerOptions } from '@ferry/engine';
import { buildServer, logSerializers } from '@ferry/server';
import { createWorkers, type Workers } from '@ferry/worker';
import { ensureRentalsDataset, rentalsDataset } from '@ferry/sample-rentals';
import { builtInPlugins } from './plugins.js';
import type { FerryConfig } from './config.js';
import { createVersioning } from './versions-runtime.js';

export interface FerryRuntime {
  /** Where the API listens, e.g. `http://127.0.0.1:8080`. */
  url: string;
  app: FastifyInstance;
  workers: Workers;
  jobs: JobStore;
  /** The key generated at this start, when none was configured or stored; shown once. */
  generatedApiKey: string | null;
  stop(): Promise<void>;
}

export interface RuntimeOverrides {
  /** Replace the webhook notifier (tests inject one with their own resolver). */
  notifier?: Notifier;
  exportWorker?: Partial<ExportWorkerOptions>;
  deliveryWorker?: Partial<DeliveryWorkerOptions>;
  /** Start the HTTP API but not the background workers. */
  workers?: boolean;
  /** The schedule loop's options and clock (tests). */
  scheduler?: Partial<SchedulerOptions> & { now?: () => Date };
}

const DOWNLOAD_SECRET = 'download_link_secret';
const DAY_MS = 86_400_000;

/** The composition root for `ferry serve`: plugins, catalog, API and workers in one process. */
export async function startFerry(config: FerryConfig, apiKey?: string, overrides: RuntimeOverrides = {}): Promise<FerryRuntime> {
  await mkdir(config.dataDir, { recursive: true });
  const logger = pino({ level: config.logLevel, serializers: logSerializers });
  const di = await createContainer(config, logger, overrides);
  const jobs = di.resolve<JobStore>(TOKENS.Jobs);
  const catalog = di.resolve<Catalog>(TOKENS.Catalog);
  const store = di.resolve<ObjectStore>(TOKENS.Store);
  const notifier = di.resolve<Notifier>(TOKENS.Notifier);
  const sources = di.resolve<ReadonlyMap<string, QuerySource>>(TOKENS.Sources);

  const generatedApiKey = await bootstrapApiKey(jobs, apiKey);
  const secret = await jobs.getOrCreateSetting(DOWNLOAD_SECRET, () => randomBytes(32).toString('base64url'));
  let publicUrl = config.server.publicUrl ?? '';
  const links = new DownloadLinks(secret, () => publicUrl);

  const formats = di.resolve<ReadonlyMap<string, FormatWriter>>(TOKENS.Formats);
  const workers = createWorkers(
    { jobs, catalog, store, notifier, links, logger, sources, formats },
    {
      exports: {
        retentionMs: config.exports.retentionDays * DAY_MS,
        maxAttempts: config.exports.maxAttempts,
        gzipLevel: config.exports.gzipLevel,
        pushdown: config.exports.pushdown,
        ...overrides.exportWorker,
      },
      deliveries: { concurrency: config.deliveries.concurrency, timeoutMs: config.deliveries.timeoutMs, ...overrides.deliveryWorker },
    },
  );
  const poke = () => {
    workers.exports.poke();
    workers.deliveries.poke();
  };
  const versioning = await createVersioning(config, { jobs, catalog, store, notifier, links, logger, sources, formats, publicUrl: () => publicUrl, onQueued: poke }, overrides.scheduler);
  const app = buildServer({
    exports: new ExportService({ jobs, catalog, notifier, links, formats: new Set(formats.keys()) }),
    downloads: new DownloadService({ jobs, store, links }),
    webhooks: new WebhookService({ jobs, notifier }),
    deliveryCounters: () => ({ ...workers.deliveries.counters }),
    catalog,
    logger,
    onQueued: poke,
    versions: versioning.routes,
  });
  await app.listen({ port: config.server.port, host: config.server.host });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  publicUrl ||= url;
  if (overrides.workers !== false) {
    workers.start();
    await versioning.scheduler.start();
  }
  logger.info({ url, dataDir: config.dataDir, publicUrl }, 'ferry is serving');

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await app.close();
      await workers.stop();
      await versioning.scheduler.stop();
      await versioning.close();
      await Promise.all([...sources.values()].map((s) => s.close()));
      await notifier.close?.();
      await store.close?.();
      await jobs.close();
    })());
  return { url, app, workers, jobs, generatedApiKey, stop };
}

/** Create every configured plugin (each validates its own options), then register the instances. */
async function createContainer(config: FerryConfig, logger: PluginContext['logger'], overrides: RuntimeOverrides): Promise<DependencyContainer> {
  const registry = builtInPlugins();
  const ctx: PluginContext = { logger, dataDir: config.dataDir };
  const sources = new Map<string, QuerySource>();
  for (const [name, slot] of Object.entries(config.sources)) sources.set(name, await registry.create('source', slot, ctx, ['sources', name]));
  const formats = new Map<string, FormatWriter>();
  for (const [name, slot] of Object.entries(config.formats)) formats.set(name, await registry.create('format', slot, ctx, ['formats', name]));

  const datasets: DatasetDefinition[] = [...config.datasets];
  if (config.sampleDataset) datasets.push(rentalsDataset(await ensureRentalsDataset(config.dataDir)));
  checkVersionSchedules(config.datasets);
  datasets.forEach((d, i) => {
    if (!sources.has(d.source)) {
      throw new FerryError('INVALID_CONFIG', `dataset "${d.key}" uses source "${d.source}", which is not configured under "sources"`, {
        path: ['datasets', i, 'source'],
      });
    }
  });

  // tsyringe's factories are synchronous: create plugins first, then register the instances.
  const di = container.createChildContainer();
  di.registerInstance(TOKENS.Logger, logger);
  di.registerInstance(TOKENS.Jobs, await registry.create('jobs', config.jobs, ctx, ['jobs']));
  di.registerInstance(TOKENS.Store, await registry.create('store', config.store, ctx, ['store']));
  di.registerInstance(TOKENS.Notifier, overrides.notifier ?? (await registry.create('notifier', config.notifier, ctx, ['notifier'])));
  di.registerInstance(TOKENS.Sources, sources);
  di.registerInstance(TOKENS.Formats, formats);
  di.registerInstance(TOKENS.Catalog, createCatalog(datasets, config.defaultDataset));
  return di;
}

/**
 * FERRY_API_KEY is registered for the default account (idempotent). With none configured and none
 * stored, a key is generated and returned so the caller can show it once.
 */
async function bootstrapApiKey(jobs: JobStore, configured: string | undefined): Promise<string | null> {
  if (configured) {
    await jobs.registerApiKey(hashApiKey(configured));
    return null;
  }
  if ((await jobs.countApiKeys()) > 0) return null;
  const key = generateApiKey();
  await jobs.registerApiKey(hashApiKey(key));
  return key;
}
