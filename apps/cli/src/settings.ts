import { resolve } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '@ferry/core';

/** Settings from the environment (a config file comes later and the environment will override it). */
export const Settings = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  dataDir: z.string().min(1).default('./.ferry'),
  apiKey: z.string().min(12, 'FERRY_API_KEY must be at least 12 characters').optional(),
  publicUrl: z.url().optional(),
  webhookAllowCidrs: z.array(z.string()).default([]),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Settings = z.infer<typeof Settings>;

const ENV: Record<keyof Settings, string> = {
  port: 'FERRY_PORT',
  host: 'FERRY_HOST',
  dataDir: 'FERRY_DATA_DIR',
  apiKey: 'FERRY_API_KEY',
  publicUrl: 'FERRY_PUBLIC_URL',
  webhookAllowCidrs: 'FERRY_WEBHOOK_ALLOW_CIDRS',
  logLevel: 'FERRY_LOG_LEVEL',
};

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const raw: Record<string, unknown> = {};
  for (const [field, name] of Object.entries(ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    raw[field] =
      field === 'webhookAllowCidrs'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value;
  }
  const settings = parseOrThrow(Settings, raw, { code: 'INVALID_CONFIG' });
  return { ...settings, dataDir: resolve(settings.dataDir) };
}

/** Which environment variable a settings field comes from, for error messages. */
export function envName(field: string): string | undefined {
  return ENV[field as keyof Settings];
}
