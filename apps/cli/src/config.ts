import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { DatasetDefinition, FerryError, formatPath, parseOrThrow, type FieldPath } from '@ferry/core';
import { DEFAULT_DELIVERY_WORKER_OPTIONS, DEFAULT_EXPORT_WORKER_OPTIONS } from '@ferry/engine';
import { locatePluginModule } from './plugin-modules.js';

/** A plugin slot: `{"use": "<plugin name>", "options": {...}}`; the options are checked by the plugin's own schema. */
export const PluginSlotConfig = z.strictObject({
  use: z.string().min(1),
  options: z.record(z.string(), z.unknown()).optional(),
});

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * `ferry.config.json`. Every field has a default, so `{}` (or no file at all) is the embedded
 * setup: SQLite jobs, local store, DuckDB source, the sample rentals dataset.
 */
export const FerryConfig = z.strictObject({
  $schema: z.string().optional(),
  /**
   * Modules with plugins of the operator's own (docs/configuration.md): paths relative to this
   * file, or package names. Their plugins are registered beside the built-in ones before any slot
   * is resolved.
   */
  plugins: z.array(z.string().min(1)).default([]),
  dataDir: z.string().min(1).default('./.ferry'),
  server: z
    .strictObject({
      port: z.int().min(0).max(65535).default(8080),
      host: z.string().min(1).default('127.0.0.1'),
      /** Base of download links; default `http://HOST:PORT`. */
      publicUrl: z.url().optional(),
    })
    .default({ port: 8080, host: '127.0.0.1' }),
  logLevel: LogLevel.default('info'),
  jobs: PluginSlotConfig.default({ use: 'sqlite' }),
  store: PluginSlotConfig.default({ use: 'local' }),
  notifier: PluginSlotConfig.default({ use: 'webhook' }),
  /**
   * Operator event sinks by name (docs/configuration.md): every account's events are also handed to
   * each, through the outbox, e.g. `{"bus": {"use": "nats", "options": {"stream": "FERRY_EVENTS"}}}`.
   */
  sinks: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'lower case letters, digits, _ and -, up to 32'), PluginSlotConfig).default({}),
  /** Named source slots; datasets refer to them by name. */
  sources: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), PluginSlotConfig).default({ default: { use: 'duckdb' } }),
  /** Output formats by the name clients request. */
  formats: z
    .record(z.string().regex(/^[a-z][a-z0-9_-]*$/), PluginSlotConfig)
    .default({ csv: { use: 'csv' }, jsonl: { use: 'jsonl' }, parquet: { use: 'parquet' }, arrow: { use: 'arrow' } }),
  /** Include the generated sample dataset `rentals` (served by the `default` source). */
  sampleDataset: z.boolean().default(true),
  datasets: z.array(DatasetDefinition).default([]),
  defaultDataset: z.string().optional(),
  exports: z
    .strictObject({
      retentionDays: z.number().positive().default(30),
      maxAttempts: z.int().min(1).max(20).default(3),
      gzipLevel: z.int().min(1).max(9).default(DEFAULT_EXPORT_WORKER_OPTIONS.gzipLevel),
      /** Let a source encode csv/jsonl itself (COPY) when its bytes match Ferry's writer. */
      pushdown: z.boolean().default(true),
      /** Exports one worker process runs at once. */
      concurrency: z.int().min(1).max(64).default(2),
      /** Most exports of one account running at once across all workers (default: no cap beyond fair ordering). */
      maxRunningPerAccount: z.int().min(1).optional(),
      /** Submits per second one account may sustain (per API process), and the burst it may make at once. */
      submitRatePerSecond: z.number().positive().default(10),
      submitBurst: z.int().min(1).default(100),
      /** Exports one account may have queued or running at once. */
      maxQueuedPerAccount: z.int().min(1).default(1000),
    })
    .default({ retentionDays: 30, maxAttempts: 3, gzipLevel: DEFAULT_EXPORT_WORKER_OPTIONS.gzipLevel, pushdown: true, concurrency: 2, submitRatePerSecond: 10, submitBurst: 100, maxQueuedPerAccount: 1000 }),
  /** Dataset versions (docs/versions.md): DuckDB does the diffs (spilling past memoryLimit); schedules are polled. */
  versions: z
    .strictObject({
      memoryLimit: z
        .string()
        .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 2GB or 512MiB')
        .default('1GB'),
      threads: z.int().min(1).max(1024).optional(),
      schedulerPollMs: z.int().min(50).max(3_600_000).default(15_000),
    })
    .default({ memoryLimit: '1GB', schedulerPollMs: 15_000 }),
  deliveries: z
    .strictObject({
      concurrency: z.int().min(1).max(256).default(DEFAULT_DELIVERY_WORKER_OPTIONS.concurrency),
      timeoutMs: z.int().min(100).max(120_000).default(DEFAULT_DELIVERY_WORKER_OPTIONS.timeoutMs),
      /** Most deliveries in flight to one endpoint across all workers, so one slow receiver cannot hold every slot. */
      maxInFlightPerEndpoint: z.int().min(1).max(256).default(DEFAULT_DELIVERY_WORKER_OPTIONS.maxInFlightPerEndpoint),
    })
    .default({
      concurrency: DEFAULT_DELIVERY_WORKER_OPTIONS.concurrency,
      timeoutMs: DEFAULT_DELIVERY_WORKER_OPTIONS.timeoutMs,
      maxInFlightPerEndpoint: DEFAULT_DELIVERY_WORKER_OPTIONS.maxInFlightPerEndpoint,
    }),
});
export type FerryConfig = z.infer<typeof FerryConfig>;

/** Environment variables override the file; each maps to one config path. */
const ENV_OVERRIDES: ReadonlyArray<{ env: string; path: FieldPath; apply: (raw: RawConfig, value: string) => void }> = [
  { env: 'FERRY_PORT', path: ['server', 'port'], apply: (c, v) => (section(c, 'server').port = Number.isInteger(Number(v)) && v.trim() !== '' ? Number(v) : v) },
  { env: 'FERRY_HOST', path: ['server', 'host'], apply: (c, v) => (section(c, 'server').host = v) },
  { env: 'FERRY_PUBLIC_URL', path: ['server', 'publicUrl'], apply: (c, v) => (section(c, 'server').publicUrl = v) },
  { env: 'FERRY_DATA_DIR', path: ['dataDir'], apply: (c, v) => (c.dataDir = v) },
  { env: 'FERRY_LOG_LEVEL', path: ['logLevel'], apply: (c, v) => (c.logLevel = v) },
  {
    // A PostgreSQL URL selects the PostgreSQL job store: the shorthand for scaling out.
    env: 'FERRY_DATABASE_URL',
    path: ['jobs'],
    apply: (c, v) => {
      if (!/^postgres(ql)?:\/\//i.test(v)) throw new FerryError('INVALID_CONFIG', 'FERRY_DATABASE_URL must be a postgres:// or postgresql:// URL');
      const jobs = section(c, 'jobs');
      jobs.use = 'postgres';
      section(jobs, 'options').connectionString = v;
    },
  },
  {
    env: 'FERRY_WEBHOOK_ALLOW_CIDRS',
    path: ['notifier', 'options', 'allowCidrs'],
    apply: (c, v) => {
      const notifier = section(c, 'notifier');
      notifier.use ??= 'webhook';
      section(notifier, 'options').allowCidrs = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    },
  },
];

type RawConfig = Record<string, unknown>;

function section(raw: RawConfig, key: string): RawConfig {
  const value = raw[key];
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as RawConfig;
  const created: RawConfig = {};
  raw[key] = created;
  return created;
}

export interface LoadedConfig {
  config: FerryConfig;
  /** The API key from FERRY_API_KEY: never in the file, so config files can be committed. */
  apiKey?: string;
  /** FERRY_ADMIN_TOKEN: turns the admin API on (and guards /metrics); from the environment only, like the key. */
  adminToken?: string;
  /** FERRY_SECRET_KEY (or the file FERRY_SECRET_KEY_FILE names): download-link keys, newest first. */
  secretKeys?: string[];
  /** Where the config came from, for messages. */
  origin: string;
  /** Where the value at `path` came from: the environment variable that set it, the file, or the defaults. */
  originOf(path: FieldPath): string;
}

/**
 * Read `--config` / FERRY_CONFIG (optional), apply the environment, validate. A bad config is a
 * FerryError INVALID_CONFIG naming the file and the exact path.
 */
export async function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ?? (env.FERRY_CONFIG || undefined);
  let raw: RawConfig = {};
  let base = cwd;
  if (file) {
    const path = resolve(cwd, file);
    base = dirname(path);
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new FerryError('INVALID_CONFIG', `cannot read config file ${path}: ${err.code ?? err.message}`);
    });
    try {
      raw = JSON.parse(text) as RawConfig;
    } catch (err) {
      throw new FerryError('INVALID_CONFIG', `${path} is not valid JSON: ${(err as Error).message}`);
    }
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new FerryError('INVALID_CONFIG', `${path} must hold a JSON object`);
  }
  const applied = ENV_OVERRIDES.filter(({ env: name }) => env[name] !== undefined && env[name] !== '');
  for (const { env: name, apply } of applied) apply(raw, env[name]!);
  const origin = file ? resolve(cwd, file) : 'the environment';
  const originOf = (path: FieldPath): string => {
    const variable = applied.find((o) => o.path.every((segment, i) => path[i] === segment));
    return variable ? `the environment (${variable.env})` : file ? resolve(cwd, file) : 'the defaults';
  };
  let config: FerryConfig;
  try {
    config = parseOrThrow(FerryConfig, raw, { code: 'INVALID_CONFIG' });
  } catch (err) {
    // Say where the bad value came from: the file, or the variable that overrode it.
    if (err instanceof FerryError && err.path) throw new FerryError(err.code, `${err.message} (at ${formatPath(err.path)} in ${originOf(err.path)})`, { path: err.path });
    throw err;
  }
  const apiKey = env.FERRY_API_KEY || undefined;
  if (apiKey !== undefined && apiKey.length < 12) {
    throw new FerryError('INVALID_CONFIG', 'FERRY_API_KEY must be at least 12 characters');
  }
  const adminToken = env.FERRY_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new FerryError('INVALID_CONFIG', 'FERRY_ADMIN_TOKEN must be at least 16 characters');
  }
  const secretKeys = await readSecretKeys(env, cwd);
  return { config: resolvePaths(config, base), apiKey, adminToken, ...(secretKeys ? { secretKeys } : {}), origin, originOf };
}

/**
 * The download-link keys, so that reading the database alone is not enough to forge a link:
 * FERRY_SECRET_KEY (comma-separated) or FERRY_SECRET_KEY_FILE (one per line, for secret managers),
 * newest first; the first signs, all verify, so a rotated-out key keeps live links working.
 */
async function readSecretKeys(env: NodeJS.ProcessEnv, cwd: string): Promise<string[] | undefined> {
  let raw = env.FERRY_SECRET_KEY;
  const file = env.FERRY_SECRET_KEY_FILE;
  if (raw && file) throw new FerryError('INVALID_CONFIG', 'set FERRY_SECRET_KEY or FERRY_SECRET_KEY_FILE, not both');
  if (file) {
    raw = await readFile(resolve(cwd, file), 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new FerryError('INVALID_CONFIG', `cannot read FERRY_SECRET_KEY_FILE ${resolve(cwd, file)}: ${err.code ?? err.message}`);
    });
  }
  if (!raw) return undefined;
  const keys = raw
    .split(/[,\n]/)
    .map((k) => k.trim())
    .filter(Boolean);
  if (keys.length === 0 || keys.some((k) => k.length < 32)) {
    throw new FerryError('INVALID_CONFIG', `${file ? 'FERRY_SECRET_KEY_FILE' : 'FERRY_SECRET_KEY'} needs keys of at least 32 characters (e.g. \`openssl rand -base64 32\`)`);
  }
  return keys;
}

/** Paths in a config file are relative to the file, like every other tool's. */
function resolvePaths(config: FerryConfig, base: string): FerryConfig {
  return {
    ...config,
    dataDir: resolve(base, config.dataDir),
    plugins: config.plugins.map((specifier) => locatePluginModule(specifier, base)),
    datasets: config.datasets.map((d) =>
      'file' in d.relation && !isAbsolute(d.relation.file) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(d.relation.file)
        ? { ...d, relation: { file: resolve(base, d.relation.file) } }
        : d,
    ),
  };
}

/** Build a config in code (tests, embedding): the same defaults and checks as a file. */
export function defineConfig(raw: z.input<typeof FerryConfig>): FerryConfig {
  return resolvePaths(parseOrThrow(FerryConfig, raw, { code: 'INVALID_CONFIG' }), process.cwd());
}
