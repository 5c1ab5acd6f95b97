import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyError } from 'fastify';
import { FerryError, isFerryError, type Catalog } from '@ferry/core';
import type { AccountService, DownloadService, ExportService, WebhookService } from '@ferry/engine';
import { describeDataset } from './datasets.js';
import { registerVersionRoutes, type VersionRoutesDeps } from './versions-routes.js';

export interface ServerDeps {
  accounts: AccountService;
  exports: ExportService;
  downloads: DownloadService;
  webhooks: WebhookService;
  catalog: Catalog;
  logger: FastifyBaseLogger;
  /** Called after an export is queued, so an in-process worker can start at once. */
  onQueued?: () => void;
  /** Dataset versions, the sync API and export schedules (docs/versions.md). */
  versions?: VersionRoutesDeps;
}

/** The HTTP API of the seeds, plus status, downloads, datasets and health. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: 1024 * 1024,
    // Download tokens are ~110 characters; the default cap of 100 would answer 414.
    maxParamLength: 512,
    trustProxy: false,
    disableRequestLogging: false,
  });

  app.setErrorHandler((err: FastifyError | FerryError, req, reply) => {
    if (isFerryError(err)) return reply.status(err.status).send(err.toJSON());
    // Fastify's own 4xx (malformed JSON, wrong content type, body too large) keep their status.
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      const code = err.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED';
      return reply.status(err.statusCode).send({ error: { code, message: err.message } });
    }
    req.log.error({ err: { message: err.message, stack: err.stack } }, 'request failed');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  );

  const apiKey = (headers: Record<string, unknown>): string | undefined => {
    const value = headers['x-api-key'];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.post('/dataset/export', async (req, reply) => {
    const key = apiKey(req.headers);
    const account = await deps.accounts.authenticate(key);
    const result = await deps.exports.submit(account, key!, req.body);
    deps.onQueued?.();
    return reply.status(201).send(result);
  });

  app.post<{ Params: { queryUUID: string } }>('/dataset/export/:queryUUID/cancel', async (req) => {
    const account = await deps.accounts.authenticate(apiKey(req.headers));
    return deps.exports.cancel(account, req.params.queryUUID);
  });

  app.get<{ Params: { queryUUID: string } }>('/dataset/export/:queryUUID', async (req) => {
    const account = await deps.accounts.authenticate(apiKey(req.headers));
    return deps.exports.status(account, req.params.queryUUID);
  });

  app.get('/datasets', async (req) => {
    await deps.accounts.authenticate(apiKey(req.headers));
    return { default: deps.catalog.defaultKey, datasets: deps.catalog.list().map(describeDataset) };
  });

  app.get<{ Params: { key: string } }>('/datasets/:key', async (req) => {
    await deps.accounts.authenticate(apiKey(req.headers));
    const dataset = deps.catalog.get(req.params.key);
    if (!dataset) throw new FerryError('NOT_FOUND', `no dataset "${req.params.key}"`);
    return describeDataset(dataset);
  });

  registerWebhookRoutes(app, deps, apiKey);
  if (deps.versions) registerVersionRoutes(app, deps.versions, (h) => deps.accounts.authenticate(apiKey(h)), apiKey);

  // The link itself is the credential: no API key, as with the signed URLs it stands in for.
  app.get<{ Params: { token: string } }>('/downloads/:token', async (req, reply) => {
    const range = req.headers.range;
    const download = await deps.downloads.open(req.params.token, { rangeHeader: range, client: req.ip });
    if (download.kind === 'redirect') return reply.status(302).headers(download.headers).redirect(download.location);
    return reply.status(download.status).headers(download.headers).send(download.body);
  });

  return app;
}

type Params<K extends string> = { Params: Record<K, string> };

/** Endpoints, the delivery log with replay, and the event feed: all per account. */
function registerWebhookRoutes(app: FastifyInstance, deps: ServerDeps, apiKey: (h: Record<string, unknown>) => string | undefined): void {
  const auth = (headers: Record<string, unknown>) => deps.accounts.authenticate(apiKey(headers));
  const hooks = deps.webhooks;

  app.post('/webhooks/endpoints', async (req, reply) => reply.status(201).send(await hooks.createEndpoint(await auth(req.headers), req.body)));
  app.get('/webhooks/endpoints', async (req) => hooks.listEndpoints(await auth(req.headers)));
  app.get<Params<'id'>>('/webhooks/endpoints/:id', async (req) => hooks.getEndpoint(await auth(req.headers), req.params.id));
  app.patch<Params<'id'>>('/webhooks/endpoints/:id', async (req) => hooks.updateEndpoint(await auth(req.headers), req.params.id, req.body));
  app.delete<Params<'id'>>('/webhooks/endpoints/:id', async (req, reply) => {
    await hooks.deleteEndpoint(await auth(req.headers), req.params.id);
    return reply.status(204).send();
  });
  app.post<Params<'id'>>('/webhooks/endpoints/:id/rotate-secret', async (req) => hooks.rotateSecret(await auth(req.headers), req.params.id));

  app.get('/webhooks/deliveries', async (req) => hooks.listDeliveries(await auth(req.headers), req.query));
  // Stored counts of the caller's account only: a process's own counters would show every tenant's traffic.
  app.get('/webhooks/stats', async (req) => ({ stored: await hooks.counts(await auth(req.headers)) }));
  app.post('/webhooks/deliveries/recover', async (req) => hooks.recover(await auth(req.headers), req.body));
  app.get<Params<'id'>>('/webhooks/deliveries/:id', async (req) => hooks.getDelivery(await auth(req.headers), req.params.id));
  app.post<Params<'id'>>('/webhooks/deliveries/:id/redeliver', async (req, reply) =>
    reply.status(202).send(await hooks.redeliver(await auth(req.headers), req.params.id)),
  );

  app.get('/events', async (req) => hooks.listEvents(await auth(req.headers), req.query));
}
