import 'reflect-metadata';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { container, instanceCachingFactory, type DependencyContainer, type InjectionToken } from 'tsyringe';
import {
  FerryError,
  TOKENS,
  createCatalog,
  isWebhookNotifier,
  type Catalog,
  type FormatWriter,
  type JobStore,
  type Logger,
  type Notifier,
  type ObjectStore,
  type PluginContext,
  type PluginRegistry,
  type QuerySource,
  type SnapshotEngine,
  type WebhookNotifier,
} from '@ferry/core';
import {
  AccountService,
  DeliveryWorker,
  DownloadLinks,
  DownloadService,
  ExportService,
  ExportWorker,
  RetentionSweeper,
  ScheduleService,
  Scheduler,
  SinkEndpoints,
  SubmitRateLimiter,
  SyncService,
  VersionPublisher,
  WebhookService,
  checkDatasetsAgainstSources,
  checkVersionSchedules,
  type CheckedDataset,
  type ExportServiceDeps,
  type VersionDeps,
} from '@ferry/engine';
import { DuckDBSnapshotEngine } from '@ferry/snapshots-duckdb';
import { ensureRentalsDataset, rentalsDataset } from '@ferry/sample-rentals';
import { composeWorkers, type Workers } from '@ferry/worker';
import { FerryMetrics, buildOperationsServer, buildServer, type OperationsDeps, type ReadinessCheck } from '@ferry/server';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { configuredPlugins } from './plugins.js';
import type { FerryConfig } from './config.js';
import type { RuntimeOverrides } from './runtime.js';

/** Tokens of the composition root beyond the plugin tokens of `@ferry/core`. */
export const ROOT = {
  Config: Symbol.for('ferry.Config') as InjectionToken<FerryConfig>,
  Overrides: Symbol.for('ferry.Overrides') as InjectionToken<RuntimeOverrides>,
  /** Where download links point; a server on port 0 knows it only once it listens. */
  PublicUrl: Symbol.for('ferry.PublicUrl') as InjectionToken<PublicUrl>,
  Snapshots: Symbol.for('ferry.Snapshots') as InjectionToken<SnapshotEngine>,
  /** Wakes this process's workers after work was queued here (a no-op in an API-only process). */
  Poke: Symbol.for('ferry.Poke') as InjectionToken<Poke>,
  Workers: Symbol.for('ferry.Workers') as InjectionToken<Workers>,
  App: Symbol.for('ferry.App') as InjectionToken<FastifyInstance>,
  /** A worker's HTTP: health, readiness and metrics only. */
  OperationsApp: Symbol.for('ferry.OperationsApp') as InjectionToken<FastifyInstance>,
  Metrics: Symbol.for('ferry.Metrics') as InjectionToken<FerryMetrics>,
  /** The API's ExportService, with submit limits (saved schedules submit through one without). */
  ApiExports: Symbol.for('ferry.ApiExports') as InjectionToken<ExportService>,
  /** The plugin registry; the config's `sinks` are created from it after `RuntimeOverrides.register`, so a test may add a plugin. */
  Plugins: Symbol.for('ferry.Plugins') as InjectionToken<PluginRegistry>,
  /** The operator's event sinks by name (config `sinks`): notifiers the delivery worker publishes every event to. */
  Sinks: Symbol.for('ferry.Sinks') as InjectionToken<ReadonlyMap<string, Notifier>>,
} as const;

export class PublicUrl {
  constructor(public value: string) {}
}

export class Poke {
  #targets: Array<() => void> = [];
  add(target: () => void): void {
    this.#targets.push(target);
  }
  readonly run = (): void => this.#targets.forEach((t) => t());
}

const DAY_MS = 86_400_000;
const FERRY_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const DOWNLOAD_SECRET = 'download_link_secret';

/**
 * The root container of every role: the configured plugins (created first: their factories are
 * async), the catalog, the download-link secret from the job store (so every API process signs and
 * checks the same links), and the engine's services, built by the container on first use.
 */
export async function createRootContainer(config: FerryConfig, logger: Logger, overrides: RuntimeOverrides): Promise<DependencyContainer> {
  const registry = await configuredPlugins(config);
  const ctx: PluginContext = { logger, dataDir: config.dataDir };
  const di = container.createChildContainer();
  const instances: Array<{ close?(): Promise<void> }> = [];
  try {
    const jobs = await registry.create('jobs', config.jobs, ctx, ['jobs']);
    instances.push(jobs);
    di.registerInstance(TOKENS.Jobs, jobs);
    const sources = new Map<string, QuerySource>();
    for (const [name, slot] of Object.entries(config.sources)) {
      const source = await registry.create('source', slot, ctx, ['sources', name]);
      instances.push(source);
      sources.set(name, source);
    }
    const formats = new Map<string, FormatWriter>();
    for (const [name, slot] of Object.entries(config.formats)) formats.set(name, await registry.create('format', slot, ctx, ['formats', name]));
    di.registerInstance(TOKENS.Sources, sources);
    di.registerInstance(TOKENS.Formats, formats);
    di.registerInstance(TOKENS.Store, await registry.create('store', config.store, ctx, ['store']));
    const notifier = overrides.notifier ?? (await registry.create('notifier', config.notifier, ctx, ['notifier']));
    if (!overrides.notifier) instances.push(notifier);
    if (!isWebhookNotifier(notifier)) {
      throw new FerryError('INVALID_CONFIG', `the "notifier" slot sends webhooks, which notifier "${notifier.name}" cannot; configure it under "sinks"`, {
        path: ['notifier', 'use'],
      });
    }
    di.registerInstance(TOKENS.Notifier, notifier);
    di.registerInstance(ROOT.Plugins, registry);
    di.registerInstance(TOKENS.Catalog, await loadCatalog(config, sources, logger));
    di.registerInstance(TOKENS.Logger, logger);
    di.registerInstance(ROOT.Config, config);
    di.registerInstance(ROOT.Overrides, overrides);
    di.registerInstance(ROOT.PublicUrl, new PublicUrl(config.server.publicUrl ?? ''));
    di.registerInstance(ROOT.Poke, new Poke());
    // Keys from the environment keep link forgery out of reach of whoever can read the database;
    // without them, one generated key is kept in the job store, so every process signs alike.
    const secret = overrides.secretKeys?.length
      ? overrides.secretKeys.map((k) => Buffer.from(k, 'utf8'))
      : await jobs.settings.putIfAbsent(DOWNLOAD_SECRET, randomBytes(32).toString('base64url'));
    const publicUrl = di.resolve(ROOT.PublicUrl);
    di.registerInstance(DownloadLinks, new DownloadLinks(secret, () => publicUrl.value));
    const tmpDir = join(config.dataDir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    di.registerInstance(
      ROOT.Snapshots,
      await DuckDBSnapshotEngine.create({
        memoryLimit: config.versions.memoryLimit,
        tempDirectory: join(tmpDir, 'duckdb'),
        ...(config.versions.threads ? { threads: config.versions.threads } : {}),
      }),
    );
    overrides.register?.(di);
    const sinks = new Map<string, Notifier>();
    for (const [name, slot] of Object.entries(config.sinks)) {
      const sink = await di.resolve(ROOT.Plugins).create('notifier', slot, ctx, ['sinks', name]);
      instances.push(sink);
      // A sink publishes where its own options say; a webhook notifier has nowhere to send without an endpoint URL.
      if (isWebhookNotifier(sink)) throw new FerryError('INVALID_CONFIG', `sink "${name}": notifier "${sink.name}" sends webhooks; register an endpoint for it instead`, { path: ['sinks', name, 'use'] });
      sinks.set(name, sink);
    }
    di.registerInstance(ROOT.Sinks, sinks);
    await new SinkEndpoints({ jobs, names: [...sinks.keys()] }).syncAll();
  } catch (err) {
    await Promise.all(instances.map((i) => i.close?.().catch(() => undefined)));
    throw err;
  }
  registerEngine(di);
  return di;
}

async function loadCatalog(config: FerryConfig, sources: ReadonlyMap<string, QuerySource>, logger: Logger): Promise<Catalog> {
  const datasets: CheckedDataset[] = config.datasets.map((dataset, i) => ({ dataset, path: ['datasets', i] }));
  if (config.sampleDataset) datasets.push({ dataset: rentalsDataset(await ensureRentalsDataset(config.dataDir)), path: ['sampleDataset'] });
  checkVersionSchedules(config.datasets);
  for (const { dataset: d, path } of datasets) {
    if (!sources.has(d.source)) {
      throw new FerryError('INVALID_CONFIG', `dataset "${d.key}" uses source "${d.source}", which is not configured under "sources"`, {
        path: [...path, 'source'],
      });
    }
  }
  const catalog = createCatalog(
    datasets.map((d) => d.dataset),
    config.defaultDataset,
  );
  await checkDatasetsAgainstSources(datasets, sources, logger);
  return catalog;
}

const jobs = (c: DependencyContainer) => c.resolve(TOKENS.Jobs) as JobStore;
/** The `notifier` slot, checked to be a webhook notifier when it was created. */
const webhooks = (c: DependencyContainer) => c.resolve(TOKENS.Notifier) as WebhookNotifier;
const sinkNames = (c: DependencyContainer) => [...c.resolve(ROOT.Sinks).keys()];

/** A singleton built from the container the first time something asks for it (tests may have swapped any dependency by then). */
function provide<T>(di: DependencyContainer, token: InjectionToken<T>, make: (c: DependencyContainer) => T): void {
  if (!di.isRegistered(token)) di.register(token, { useFactory: instanceCachingFactory(make) });
}

function exportServiceDeps(c: DependencyContainer): ExportServiceDeps {
  return {
    jobs: c.resolve(TOKENS.Jobs) as JobStore,
    catalog: c.resolve(TOKENS.Catalog) as Catalog,
    notifier: webhooks(c),
    links: c.resolve(DownloadLinks),
    formats: c.resolve(TOKENS.Formats) as ReadonlyMap<string, FormatWriter>,
  };
}

function versionDeps(c: DependencyContainer): VersionDeps {
  const config = c.resolve(ROOT.Config);
  const publicUrl = c.resolve(ROOT.PublicUrl);
  return {
    jobs: c.resolve(TOKENS.Jobs) as JobStore,
    catalog: c.resolve(TOKENS.Catalog) as Catalog,
    sources: c.resolve(TOKENS.Sources) as ReadonlyMap<string, QuerySource>,
    formats: c.resolve(TOKENS.Formats) as ReadonlyMap<string, FormatWriter>,
    store: c.resolve(TOKENS.Store) as ObjectStore,
    logger: c.resolve(TOKENS.Logger) as Logger,
    snapshots: c.resolve(ROOT.Snapshots),
    publicUrl: () => publicUrl.value,
    tmpDir: join(config.dataDir, 'tmp'),
    onPublished: c.resolve(ROOT.Poke).run,
  };
}

/** The engine's services, each built once from whatever the container holds when it is first resolved. */
function registerEngine(di: DependencyContainer): void {
  provide(di, ROOT.Metrics, (c) => new FerryMetrics(jobs(c)));
  provide(di, AccountService, (c) => new AccountService({ jobs: jobs(c), sinkNames: sinkNames(c) }));
  provide(di, ExportService, (c) => new ExportService(exportServiceDeps(c)));
  provide(di, WebhookService, (c) => new WebhookService({ jobs: jobs(c), notifier: webhooks(c) }));
  provide(di, DownloadService, (c) => new DownloadService({ jobs: jobs(c), store: c.resolve(TOKENS.Store) as ObjectStore, links: c.resolve(DownloadLinks) }));
  provide(di, VersionPublisher, (c) => new VersionPublisher(versionDeps(c)));
  provide(di, SyncService, (c) => new SyncService(versionDeps(c), c.resolve(VersionPublisher)));
  provide(di, ScheduleService, (c) => {
    const now = c.resolve(ROOT.Overrides).scheduler?.now;
    return new ScheduleService({ ...exportServiceDeps(c), ...(now ? { now } : {}) });
  });
}

/** The worker role's container: exports, deliveries, retention and schedules on top of the root. */
export function workerContainer(root: DependencyContainer): DependencyContainer {
  const di = root.createChildContainer();
  const config = di.resolve(ROOT.Config);
  const overrides = di.resolve(ROOT.Overrides);
  const logger = di.resolve(TOKENS.Logger) as Logger;
  provide(
    di,
    ExportWorker,
    (c) =>
      new ExportWorker(
        {
          jobs: jobs(c),
          catalog: c.resolve(TOKENS.Catalog) as Catalog,
          sources: c.resolve(TOKENS.Sources) as ReadonlyMap<string, QuerySource>,
          formats: c.resolve(TOKENS.Formats) as ReadonlyMap<string, FormatWriter>,
          store: c.resolve(TOKENS.Store) as ObjectStore,
          links: c.resolve(DownloadLinks),
          logger,
          metrics: c.resolve(ROOT.Metrics),
        },
        {
          concurrency: config.exports.concurrency,
          // Split exports spool a part's rows here while they are cut to size.
          scratchDir: join(config.dataDir, 'tmp'),
          maxRunningPerAccount: config.exports.maxRunningPerAccount ?? null,
          retentionMs: config.exports.retentionDays * DAY_MS,
          maxAttempts: config.exports.maxAttempts,
          gzipLevel: config.exports.gzipLevel,
          pushdown: config.exports.pushdown,
          ...overrides.exportWorker,
        },
      ),
  );
  provide(
    di,
    DeliveryWorker,
    (c) =>
      new DeliveryWorker(
        { jobs: jobs(c), notifier: webhooks(c), sinks: c.resolve(ROOT.Sinks), logger, metrics: c.resolve(ROOT.Metrics) },
        {
          concurrency: config.deliveries.concurrency,
          timeoutMs: config.deliveries.timeoutMs,
          maxInFlightPerEndpoint: config.deliveries.maxInFlightPerEndpoint,
          ...overrides.deliveryWorker,
        },
      ),
  );
  provide(di, RetentionSweeper, (c) => new RetentionSweeper({ jobs: jobs(c), store: c.resolve(TOKENS.Store) as ObjectStore, logger }));
  provide(di, Scheduler, (c) => {
    const { now, ...options } = overrides.scheduler ?? {};
    return new Scheduler(
      {
        jobs: jobs(c),
        catalog: c.resolve(TOKENS.Catalog) as Catalog,
        logger,
        exports: exportServiceDeps(c),
        publish: (key) => c.resolve(VersionPublisher).publish(key),
        onQueued: c.resolve(ROOT.Poke).run,
        ...(now ? { now } : {}),
      },
      { pollMs: config.versions.schedulerPollMs, ...options },
    );
  });
  provide(di, ROOT.OperationsApp, (c) => buildOperationsServer(operationsDeps(c)));
  provide(di, ROOT.Workers, (c) =>
    composeWorkers({ exports: c.resolve(ExportWorker), deliveries: c.resolve(DeliveryWorker), retention: c.resolve(RetentionSweeper), scheduler: c.resolve(Scheduler) }),
  );
  return di;
}

/** What every role's HTTP shares: the admin token, metrics, readiness and the version. */
function operationsDeps(c: DependencyContainer): OperationsDeps {
  return {
    logger: c.resolve(TOKENS.Logger) as FastifyBaseLogger,
    metrics: c.resolve(ROOT.Metrics),
    readiness: () => readiness(c),
    version: FERRY_VERSION,
    ...(c.resolve(ROOT.Overrides).adminToken ? { adminToken: c.resolve(ROOT.Overrides).adminToken } : {}),
  };
}

/** Ready when the job store, the object store and every source answer. */
async function readiness(c: DependencyContainer): Promise<ReadinessCheck[]> {
  const probe = async (part: string, check: () => Promise<unknown>): Promise<ReadinessCheck> => {
    try {
      await check();
      return { part, ok: true };
    } catch (err) {
      return { part, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  };
  const store = c.resolve(TOKENS.Store) as ObjectStore;
  const sources = c.resolve(TOKENS.Sources) as ReadonlyMap<string, QuerySource>;
  return Promise.all([
    probe(`jobs:${jobs(c).name}`, () => jobs(c).ping()),
    // A key that never exists: the store answering NOT_FOUND is the store answering.
    probe(`store:${store.name}`, () =>
      store.get('.ferry-readiness-probe').then(
        () => undefined,
        (err: unknown) => {
          if (!(err instanceof FerryError && err.code === 'NOT_FOUND')) throw err;
        },
      ),
    ),
    ...[...sources].map(([name, source]) => probe(`source:${name}`, () => source.ping?.() ?? Promise.resolve())),
  ]);
}

/** The API role's container: the HTTP server on top of the root. It never claims work. */
export function apiContainer(root: DependencyContainer): DependencyContainer {
  const di = root.createChildContainer();
  // The API's export service: the same rules, plus each account's submit rate and queue cap.
  provide(di, ROOT.ApiExports, (c) => {
    const { exports } = c.resolve(ROOT.Config);
    return new ExportService({
      ...exportServiceDeps(c),
      limits: { rate: new SubmitRateLimiter({ ratePerSecond: exports.submitRatePerSecond, burst: exports.submitBurst }), maxQueued: exports.maxQueuedPerAccount },
    });
  });
  provide(di, ROOT.App, (c) =>
    buildServer({
      ...operationsDeps(c),
      accounts: c.resolve(AccountService),
      exports: c.resolve(ROOT.ApiExports),
      downloads: c.resolve(DownloadService),
      webhooks: c.resolve(WebhookService),
      catalog: c.resolve(TOKENS.Catalog) as Catalog,
      formats: [...(c.resolve(TOKENS.Formats) as ReadonlyMap<string, FormatWriter>).keys()],
      onQueued: c.resolve(ROOT.Poke).run,
      versions: { sync: c.resolve(SyncService), schedules: c.resolve(ScheduleService) },
    }),
  );
  return di;
}

