import { Readable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyError } from 'fastify';
import { z } from 'zod';
import { FerryError, isFerryError, type Catalog } from '@ferry/core';
import type { AccountService, DownloadService, ExportService, WebhookService } from '@ferry/engine';
import { errors, fileBody, noBody, registerOpenApi, serializerCompiler, validatorCompiler } from './openapi.js';
import { checkSecurity, routeContext } from './routes/context.js';
import { exportRoutes } from './routes/exports.js';
import { datasetRoutes } from './routes/datasets.js';
import { webhookRoutes } from './routes/webhooks.js';
import { versionRoutes, type VersionRoutesDeps } from './routes/versions.js';
import { keyRoutes } from './routes/keys.js';
import { operationRoutes, type ReadinessCheck } from './routes/operations.js';
import { dashboardRoutes } from './routes/dashboard.js';
import type { FerryMetrics } from './metrics.js';

export interface ServerDeps {
  accounts: AccountService;
  exports: ExportService;
  downloads: DownloadService;
  webhooks: WebhookService;
  catalog: Catalog;
  /** The format names this install offers. */
  formats: readonly string[];
  logger: FastifyBaseLogger;
  /** Called after an export is queued, so an in-process worker can start at once. */
  onQueued?: () => void;
  /** Dataset versions, the sync API and export schedules (docs/versions.md). */
  versions: VersionRoutesDeps;
  /** `FERRY_ADMIN_TOKEN`: turns the admin API on and guards /metrics. */
  adminToken?: string;
  metrics: FerryMetrics;
  readiness: () => Promise<ReadinessCheck[]>;
  /** Ferry's version, for the OpenAPI document. */
  version: string;
}

/** Only a process's operations routes: what a worker serves (health, readiness, metrics). */
export type OperationsDeps = Pick<ServerDeps, 'logger' | 'adminToken' | 'metrics' | 'readiness' | 'version'>;

/** A Fastify instance with Ferry's error shape, validation and OpenAPI document, and no routes yet. */
function baseServer(logger: FastifyBaseLogger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: 1024 * 1024,
    // Download tokens are ~110 characters; the default cap of 100 would answer 414.
    routerOptions: { maxParamLength: 512 },
    trustProxy: false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err: FastifyError | FerryError, req, reply) => {
    if (isFerryError(err)) {
      const retryAfter = err.retryAfterSeconds ?? (err.status === 503 || err.status === 429 ? 5 : undefined);
      if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
      return reply.status(err.status).send(err.toJSON());
    }
    // Fastify's own 4xx (malformed JSON, wrong content type, body too large) keep their status.
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      const { code, message } = clientError(err.statusCode, err.message);
      return reply.status(err.statusCode).send({ error: { code, message } });
    }
    req.log.error({ err: { message: err.message, stack: err.stack } }, 'request failed');
    return reply.status(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  );
  // Bodies are JSON in UTF-8, uncompressed: anything else is refused before it is parsed.
  app.addHook('preParsing', async (req) => {
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') {
      throw new FerryError('UNSUPPORTED_MEDIA_TYPE', `request bodies must not be compressed (Content-Encoding: ${encoding.slice(0, 40)}); send plain JSON`);
    }
    const charset = /;\s*charset=("?)([^";]+)\1/i.exec(req.headers['content-type'] ?? '')?.[2];
    if (charset && !/^utf-?8$/i.test(charset.trim())) {
      throw new FerryError('UNSUPPORTED_MEDIA_TYPE', `request bodies must be UTF-8 (charset=${charset.slice(0, 40)}); send JSON as UTF-8`);
    }
  });
  return app;
}

function clientError(status: number, message: string): { code: string; message: string } {
  if (status === 413) return { code: 'PAYLOAD_TOO_LARGE', message };
  if (status === 415) return { code: 'UNSUPPORTED_MEDIA_TYPE', message: `${message}: send the body as JSON with Content-Type: application/json` };
  return { code: 'VALIDATION_FAILED', message };
}

/** The HTTP API: the seeds' export API, status, downloads, datasets, webhooks, versions, keys, admin, operations. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = baseServer(deps.logger);
  const ctx = routeContext(deps);
  registerOpenApi(app, deps.version);
  dashboardRoutes(app);
  void app.register(
    async (api) => {
      api.addHook('onRequest', checkSecurity(ctx));
      exportRoutes(api, ctx);
      datasetRoutes(api, ctx);
      webhookRoutes(api, ctx);
      versionRoutes(api, ctx, deps.versions);
      keyRoutes(api, ctx);
      operationRoutes(api, ctx);
      downloadRoute(api, deps);
    },
  );
  return app;
}

/** What a worker serves: health, readiness and metrics, on its own port. */
export function buildOperationsServer(deps: OperationsDeps): FastifyInstance {
  const app = baseServer(deps.logger);
  registerOpenApi(app, deps.version);
  void app.register(async (api) => {
    const ctx = routeContext(deps as ServerDeps);
    api.addHook('onRequest', checkSecurity(ctx));
    operationRoutes(api, ctx);
  });
  return app;
}

function downloadRoute(app: FastifyInstance, deps: ServerDeps): void {
  // The link itself is the credential: no API key, as with the signed URLs it stands in for.
  app.get<{ Params: { token: string } }>(
    '/downloads/:token',
    {
      schema: {
        tags: ['downloads'],
        summary: "An export's file, through its 30-day link",
        description: 'The link itself is the credential. Range requests work. With S3 or GCS the answer is a redirect to a fresh 5-minute URL at the store.',
        params: z.object({ token: z.string() }),
        response: {
          200: fileBody('The file', z.string().meta({ format: 'binary' })),
          206: fileBody('The requested range of the file', z.string().meta({ format: 'binary' })),
          302: noBody('Redirect to a short-lived URL signed by the store (S3, GCS)'),
          304: noBody('Not modified (If-None-Match matched the ETag)'),
          ...errors(403, 404, 410, 416),
        },
      },
    },
    async (req, reply) => {
      const download = await deps.downloads.open(req.params.token, {
        method: req.method,
        rangeHeader: req.headers.range,
        ifNoneMatch: req.headers['if-none-match'],
        client: req.ip,
      });
      switch (download.kind) {
        case 'redirect':
          return reply.status(302).headers(download.headers).redirect(download.location);
        case 'not-modified':
          return reply.status(304).headers(download.headers).send();
        case 'unsatisfiable':
          return reply.status(416).headers(download.headers).send(download.error.toJSON());
        default:
          // A HEAD has no body; an empty stream (rather than none) keeps the file's Content-Length.
          // A store's body is any async iterable (a plugin's generator, not only a Node stream); fastify sends streams.
          return reply.status(download.status).headers(download.headers).send(download.body instanceof Readable ? download.body : Readable.from(download.body ?? []));
      }
    },
  );
}
