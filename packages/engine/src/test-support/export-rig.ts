/**
 * Shared setup for the export worker and export service tests: a small rentals dataset in a Parquet
 * file, a worker wired to real parts (the test file builds them: this module may import only
 * @ferry/core, so the plugins stay in the tests), and the few stand-ins a test needs where a
 * condition cannot be produced for real (an upload that stalls, a store that fails).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createHash, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import {
  collectBytes,
  createCatalog,
  PluginRegistry,
  silentLogger,
  DatasetDefinition,
  type Account,
  type Catalog,
  type ExportJob,
  type FormatWriter,
  type JobStore,
  type Logger,
  type NewExportJob,
  type ObjectRef,
  type ObjectStore,
  type PluginDefinition,
  type PluginSlot,
  type QuerySource,
  type StoredObject,
} from '@ferry/core';
import { sampleImplicitEndpoint } from '@ferry/testing/jobs';
import { DownloadLinks } from '../download-links.js';
import { recordingLogger, type LogLine } from './log-lines.js';
import { ExportWorker, type ExportWorkerDeps, type ExportWorkerOptions } from '../export-worker.js';
import type { EngineMetrics } from '../metrics.js';

export interface Rental {
  id: number;
  city: string;
  rent: number;
}

const CITIES = ['Seattle', 'Portland, OR', 'Zürich', 'O"Hare', 'Tacoma'];

/** 25 rows; two cities need CSV quoting (a comma, a quote). */
export const RENTALS: readonly Rental[] = Array.from({ length: 25 }, (_, i) => ({ id: i + 1, city: CITIES[i % CITIES.length]!, rent: 1000 + 37 * i }));

export const RENTALS_QUERY = {
  from: 'rentals',
  scopes: [{ column: 'id' }, { column: 'city' }, { column: 'rent' }],
  orderBy: [{ column: 'id', direction: 'asc' }],
};

const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/** The default CSV writer's bytes for these rows: header, LF line ends, RFC 4180 quoting. */
export function rentalsCsv(rows: readonly Rental[] = RENTALS): string {
  return `id,city,rent\n${rows.map((r) => `${r.id},${csvField(r.city)},${r.rent}\n`).join('')}`;
}

export function rentalsJsonl(rows: readonly Rental[] = RENTALS): string {
  return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
}

export function rentalsDataset(file: string): DatasetDefinition {
  return DatasetDefinition.parse({
    key: 'rentals',
    relation: { file },
    columns: [
      { name: 'id', type: 'integer', role: 'dimension' },
      { name: 'city', type: 'string', role: 'dimension' },
      { name: 'rent', type: 'integer', role: 'measure' },
    ],
  });
}

/** Write `rows` as Parquet with the real Parquet writer, for DuckDB to read back. */
export async function writeRentals(file: string, parquet: FormatWriter, rows: readonly Rental[] = RENTALS): Promise<void> {
  const table = new Table({
    id: vectorFromArray(rows.map((r) => r.id), new Int32()),
    city: vectorFromArray(rows.map((r) => r.city), new Utf8()),
    rent: vectorFromArray(rows.map((r) => r.rent), new Int32()),
  });
  const bytes = await collectBytes(
    parquet.write(
      table.schema,
      (async function* () {
        yield* table.batches;
      })(),
      { signal: new AbortController().signal },
    ),
  );
  await writeFile(file, bytes);
}

/** Format writers made as the container makes them: each config slot's options checked by its plugin. */
export async function createFormats(plugins: readonly PluginDefinition<'format'>[], slots: Record<string, PluginSlot>, dataDir: string): Promise<Map<string, FormatWriter>> {
  const registry = new PluginRegistry().register(...plugins);
  const formats = new Map<string, FormatWriter>();
  for (const [name, slot] of Object.entries(slots)) formats.set(name, await registry.create('format', slot, { logger: silentLogger, dataDir }, ['formats', name]));
  return formats;
}

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A store clock the test moves: retries come due and leases run out without waiting. */
export class ShiftedClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface RigParts {
  jobs: JobStore;
  store: ObjectStore;
  source: QuerySource & { close(): Promise<void> };
  /** Must hold a `parquet` writer: it writes the dataset file. */
  formats: ReadonlyMap<string, FormatWriter>;
}


export type EndedExport = Parameters<EngineMetrics['exportEnded']>[0];

export const PUBLIC_URL = 'https://ferry.example.com';
export const LINK_SECRET = Buffer.alloc(32, 9).toString('base64url');

/** A temp dir with real parts, one account with its implicit webhook endpoint, and the rentals file. */
export class ExportRig {
  readonly links = new DownloadLinks(LINK_SECRET, PUBLIC_URL);
  readonly logs: LogLine[] = [];
  readonly ended: EndedExport[] = [];
  leasesLost = 0;
  readonly logger: Logger = recordingLogger((line) => this.logs.push(line));
  readonly metrics: EngineMetrics = {
    exportEnded: (e) => this.ended.push(e),
    webhookAttempt: () => {},
    endpointDisabled: () => {},
    leaseLost: () => this.leasesLost++,
  };
  readonly #workers: ExportWorker[] = [];

  private constructor(
    readonly dir: string,
    readonly clock: ShiftedClock,
    readonly parts: RigParts,
    readonly account: Account,
    readonly endpointId: string,
    readonly catalog: Catalog,
  ) {}

  static async open(build: (dir: string, clock: ShiftedClock) => Promise<RigParts>, opts: { writeData?: boolean } = {}): Promise<ExportRig> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-export-'));
    const clock = new ShiftedClock();
    const parts = await build(dir, clock);
    const account = await parts.jobs.accounts.create({ name: 'exports', createdAt: new Date() });
    const endpointId = await insertHook(parts.jobs, account.id);
    const dataFile = join(dir, 'rentals.parquet');
    if (opts.writeData !== false) await writeRentals(dataFile, parts.formats.get('parquet')!);
    return new ExportRig(dir, clock, parts, account, endpointId, createCatalog([rentalsDataset(dataFile)]));
  }

  /** A second account with its own export webhook endpoint. */
  async addAccount(name: string): Promise<{ account: Account; endpointId: string }> {
    const account = await this.jobs.accounts.create({ name, createdAt: new Date() });
    return { account, endpointId: await insertHook(this.jobs, account.id) };
  }

  get jobs(): JobStore {
    return this.parts.jobs;
  }

  get store(): ObjectStore {
    return this.parts.store;
  }

  get dataFile(): string {
    return join(this.dir, 'rentals.parquet');
  }

  get scratchDir(): string {
    return join(this.dir, 'scratch');
  }

  /** Queue an export of the rentals (plain CSV, one file) as the service would have. */
  async insert(overrides: Partial<NewExportJob> = {}): Promise<NewExportJob> {
    const job: NewExportJob = {
      id: randomUUID(),
      accountId: this.account.id,
      name: 'Rentals Q1',
      format: 'csv',
      compression: 'none',
      webhookUrl: 'https://hooks.example.com/ferry',
      endpointId: this.endpointId,
      datasetKey: 'rentals',
      query: RENTALS_QUERY,
      hmacSignature: 'f'.repeat(64),
      requestedAt: new Date(),
      notifyOnFailure: false,
      split: null,
      ...overrides,
    };
    await this.jobs.exports.insert(job);
    return job;
  }

  async get(id: string): Promise<ExportJob> {
    const job = await this.jobs.exports.get(id);
    if (!job) throw new Error(`no export ${id}`);
    return job;
  }

  worker(options: Partial<ExportWorkerOptions> = {}, deps: Partial<ExportWorkerDeps> = {}): ExportWorker {
    const worker = new ExportWorker(
      {
        jobs: this.jobs,
        catalog: this.catalog,
        sources: new Map([['default', this.parts.source]]),
        formats: this.parts.formats,
        store: this.store,
        links: this.links,
        logger: this.logger,
        metrics: this.metrics,
        ...deps,
      },
      // Heartbeats and polls far apart unless a test asks: nothing happens behind its back.
      { scratchDir: this.scratchDir, pollMs: 60_000, heartbeatMs: 60_000, ...options },
    );
    this.#workers.push(worker);
    return worker;
  }

  async read(key: string): Promise<Buffer> {
    return collectBytes((await this.store.get(key)).body);
  }

  async exists(key: string): Promise<boolean> {
    return this.store.get(key).then(
      async (o) => {
        await collectBytes(o.body);
        return true;
      },
      () => false,
    );
  }

  async events(): Promise<Array<{ type: string; exportId: string | null; body: Record<string, unknown> }>> {
    const events = await this.jobs.events.list(this.account.id, { limit: 100 });
    return events.map((e) => ({ type: e.type, exportId: e.exportId, body: JSON.parse(e.body) as Record<string, unknown> }));
  }

  async deliveries(exportId: string) {
    return this.jobs.deliveries.list(this.account.id, { exportId, limit: 100 });
  }

  async close(): Promise<void> {
    for (const w of this.#workers) await w.stop();
    await this.parts.source.close();
    await this.parts.jobs.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The account's implicit endpoint for its exports' webhook URL (seed scheme), as a submit creates it. */
async function insertHook(jobs: JobStore, accountId: number): Promise<string> {
  const endpoint = sampleImplicitEndpoint(accountId);
  await jobs.endpoints.insert(endpoint);
  return endpoint.id;
}

/** Delegates everything to a real store; subclasses change what `put` does. */
class StoreWrapper implements ObjectStore {
  constructor(protected readonly inner: ObjectStore) {}

  get name(): string {
    return this.inner.name;
  }

  get capabilities() {
    return this.inner.capabilities;
  }

  put(key: string, body: AsyncIterable<Uint8Array>, opts: { contentType: string; signal?: AbortSignal }): Promise<ObjectRef> {
    return this.inner.put(key, body, opts);
  }

  get(key: string, opts?: Parameters<ObjectStore['get']>[1]): Promise<StoredObject> {
    return this.inner.get(key, opts);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

/**
 * A real store whose uploads of matching keys stop after their first chunk until `open()` or
 * until the put is aborted, as a slow upload would. It lets a test act while an export is
 * mid-write (cancel it, take its lease, stop the worker) without racing a real slow network.
 */
export class GatedStore extends StoreWrapper {
  readonly #waiting: Array<(key: string) => void> = [];
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => (this.#open = resolve));
  /** Keys whose put reached the gate, in order. */
  readonly stalled: string[] = [];

  constructor(
    inner: ObjectStore,
    private readonly match: (key: string) => boolean = () => true,
  ) {
    super(inner);
  }

  /** Resolves once `n` puts are held at the gate. */
  async reached(n = 1): Promise<string[]> {
    while (this.stalled.length < n) await new Promise<string>((resolve) => this.#waiting.push(resolve));
    return this.stalled.slice(0, n);
  }

  open(): void {
    this.#open();
  }

  override put(key: string, body: AsyncIterable<Uint8Array>, opts: { contentType: string; signal?: AbortSignal }): Promise<ObjectRef> {
    if (!this.match(key)) return this.inner.put(key, body, opts);
    const gate = this.#gate;
    const signal = opts.signal;
    const onStall = (): void => {
      this.stalled.push(key);
      for (const wake of this.#waiting.splice(0)) wake(key);
    };
    async function* held(): AsyncIterable<Uint8Array> {
      let first = true;
      for await (const chunk of body) {
        yield chunk;
        if (!first) continue;
        first = false;
        onStall();
        const aborted = new Promise<void>((resolve) => {
          if (signal?.aborted) resolve();
          signal?.addEventListener('abort', () => resolve(), { once: true });
        });
        await Promise.race([gate, aborted]);
        if (signal?.aborted) throw signal.reason;
      }
    }
    return this.inner.put(key, held(), opts);
  }
}

/**
 * A real store whose uploads of matching keys fail after their first chunk with `error` (the first
 * `times` of them): a store outage (a TRANSIENT from S3, a reset connection) cannot be produced
 * with the local store.
 */
export class FailingStore extends StoreWrapper {
  failures = 0;

  constructor(
    inner: ObjectStore,
    private readonly error: () => unknown,
    private readonly opts: { times?: number; match?: (key: string) => boolean } = {},
  ) {
    super(inner);
  }

  override put(key: string, body: AsyncIterable<Uint8Array>, opts: { contentType: string; signal?: AbortSignal }): Promise<ObjectRef> {
    if (this.failures >= (this.opts.times ?? Infinity) || !(this.opts.match ?? (() => true))(key)) return this.inner.put(key, body, opts);
    this.failures++;
    const error = this.error();
    return (async () => {
      // Read a little first, as a real upload would before the connection drops.
      for await (const _chunk of body) break;
      throw error;
    })();
  }
}
