import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Catalog, FormatWriter, JobStore, Logger, Notifier, ObjectStore, QuerySource } from '@ferry/core';
import { ScheduleService, Scheduler, SyncService, VersionPublisher, type DownloadLinks, type SchedulerOptions } from '@ferry/engine';
import { DuckDBSnapshotEngine } from '@ferry/snapshots-duckdb';
import type { VersionRoutesDeps } from '@ferry/server';
import type { FerryConfig } from './config.js';

export interface VersioningDeps {
  jobs: JobStore;
  catalog: Catalog;
  store: ObjectStore;
  notifier: Notifier;
  links: DownloadLinks;
  logger: Logger;
  sources: ReadonlyMap<string, QuerySource>;
  formats: ReadonlyMap<string, FormatWriter>;
  publicUrl: () => string;
  /** Poke the in-process workers after a scheduled export or a publish. */
  onQueued: () => void;
}

export interface Versioning {
  routes: VersionRoutesDeps;
  scheduler: Scheduler;
  close(): Promise<void>;
}

/** Dataset versions, the sync API and schedules, composed (docs/versions.md). */
export async function createVersioning(
  config: FerryConfig,
  deps: VersioningDeps,
  overrides: Partial<SchedulerOptions> & { now?: () => Date } = {},
): Promise<Versioning> {
  const tmpDir = join(config.dataDir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const snapshots = await DuckDBSnapshotEngine.create({
    memoryLimit: config.versions.memoryLimit,
    tempDirectory: join(tmpDir, 'duckdb'),
    ...(config.versions.threads ? { threads: config.versions.threads } : {}),
  });
  const versionDeps = { ...deps, snapshots, tmpDir, onPublished: deps.onQueued };
  const publisher = new VersionPublisher(versionDeps);
  const formatNames = new Set(deps.formats.keys());
  const { now, ...schedulerOptions } = overrides;
  const scheduler = new Scheduler(
    {
      jobs: deps.jobs,
      catalog: deps.catalog,
      logger: deps.logger,
      exports: { jobs: deps.jobs, catalog: deps.catalog, notifier: deps.notifier, links: deps.links, formats: formatNames },
      publish: (key) => publisher.publish(key),
      onQueued: deps.onQueued,
      ...(now ? { now } : {}),
    },
    { pollMs: config.versions.schedulerPollMs, ...schedulerOptions },
  );
  return {
    routes: {
      sync: new SyncService(versionDeps, publisher),
      schedules: new ScheduleService({ jobs: deps.jobs, catalog: deps.catalog, notifier: deps.notifier, formats: formatNames, ...(now ? { now } : {}) }),
    },
    scheduler,
    close: () => snapshots.close(),
  };
}
