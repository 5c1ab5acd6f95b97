import 'reflect-metadata';
import { mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { container, type DependencyContainer } from 'tsyringe';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import {
  TOKENS,
  createCatalog,
  type Catalog,
  type FormatWriter,
  type JobStore,
  type Notifier,
  type ObjectStore,
  type PluginContext,
  type QuerySource,
} from '@ferry/core';
import { DownloadLinks, DownloadService, ExportService, generateApiKey, hashApiKey } from '@ferry/engine';
import type { DeliveryWorkerOptions, ExportWorkerOptions } from '@ferry/engine';
import { buildServer } from '@ferry/server';
import { createWorkers, type Workers } from '@ferry/worker';
import { ensureRentalsDataset, rentalsDataset } from '@ferry/sample-rentals';
import { builtInPlugins } from './plugins.js';
import type { Settings } from './settings.js';

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
}

const DOWNLOAD_SECRET = 'download_link_secret';

/** The composition root for `ferry serve`: plugins, catalog, API and workers in one process. */
export async function startFerry(settings: Settings, overrides: RuntimeOverrides = {}): Promise<FerryRuntime> {
  await mkdir(settings.dataDir, { recursive: true });
  const logger = pino({ level: settings.logLevel, redact: ['req.headers["x-api-key"]', 'req.headers.authorization'] });
  const di = await createContainer(settings, logger, overrides);
  const jobs = di.resolve<JobStore>(TOKENS.Jobs);

  const generatedApiKey = await bootstrapApiKey(jobs, settings.apiKey);
  const secret = await jobs.getOrCreateSetting(DOWNLOAD_SECRET, () => randomBytes(32).toString('base64url'));
  let publicUrl = settings.publicUrl ?? '';
  const links = new DownloadLinks(secret, () => publicUrl);

  const catalog = di.resolve<Catalog>(TOKENS.Catalog);
  const store = di.resolve<ObjectStore>(TOKENS.Store);
  const notifier = di.resolve<Notifier>(TOKENS.Notifier);
  const workers = createWorkers(
    {
      jobs,
      catalog,
      store,
      notifier,
      links,
      logger,
      sources: di.resolve<ReadonlyMap<string, QuerySource>>(TOKENS.Sources),
      formats: di.resolve<ReadonlyMap<string, FormatWriter>>(TOKENS.Formats),
    },
    { exports: overrides.exportWorker, deliveries: overrides.deliveryWorker },
  );
  const app = buildServer({
    exports: new ExportService({ jobs, catalog, notifier, links }),
    downloads: new DownloadService({ jobs, store, links }),
    catalog,
    logger,
    onQueued: () => workers.exports.poke(),
  });
  await app.listen({ port: settings.port, host: settings.host });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  publicUrl ||= url;
  if (overrides.workers !== false) workers.start();
  logger.info({ url, dataDir: settings.dataDir, publicUrl }, 'ferry is serving');

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await app.close();
      await workers.stop();
      await Promise.all([...di.resolve<ReadonlyMap<string, QuerySource>>(TOKENS.Sources).values()].map((s) => s.close()));
      await notifier.close?.();
      await store.close?.();
      await jobs.close();
    })());
  return { url, app, workers, jobs, generatedApiKey, stop };
}

async function createContainer(settings: Settings, logger: PluginContext['logger'], overrides: RuntimeOverrides): Promise<DependencyContainer> {
  const registry = builtInPlugins();
  const ctx: PluginContext = { logger, dataDir: settings.dataDir };
  // tsyringe's factories are synchronous: create plugins first, then register the instances.
  const di = container.createChildContainer();
  di.registerInstance(TOKENS.Logger, logger);
  di.registerInstance(TOKENS.Jobs, await registry.create('jobs', { use: 'sqlite' }, ctx));
  di.registerInstance(TOKENS.Store, await registry.create('store', { use: 'local' }, ctx));
  di.registerInstance(
    TOKENS.Notifier,
    overrides.notifier ?? (await registry.create('notifier', { use: 'webhook', options: { allowCidrs: settings.webhookAllowCidrs } }, ctx)),
  );
  di.registerInstance(TOKENS.Sources, new Map([['default', await registry.create('source', { use: 'duckdb' }, ctx)]]));
  di.registerInstance(
    TOKENS.Formats,
    new Map<string, FormatWriter>([
      ['csv', await registry.create('format', { use: 'csv' }, ctx)],
      ['jsonl', await registry.create('format', { use: 'jsonl' }, ctx)],
    ]),
  );
  const rentals = await ensureRentalsDataset(settings.dataDir);
  di.registerInstance(TOKENS.Catalog, createCatalog([rentalsDataset(rentals)]));
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
