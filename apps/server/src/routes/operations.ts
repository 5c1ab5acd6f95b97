import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ADMIN, errors } from '../openapi.js';
import { Health, Readiness } from '../schemas.js';
import type { RouteContext } from './context.js';

export interface ReadinessCheck {
  part: string;
  ok: boolean;
  error?: string;
}

/** Liveness, readiness, metrics and the API's own description: on every role. */
export function operationRoutes(app: FastifyInstance, { deps, admin }: RouteContext): void {
  const tags = ['operations'];
  // A probe every few seconds must not fill the log.
  app.get('/healthz', { logLevel: 'warn', schema: { tags, summary: 'Liveness: the process answers', response: { 200: Health } } }, async () => ({ status: 'ok' as const }));

  app.get(
    '/readyz',
    {
      logLevel: 'warn',
      schema: {
        tags,
        summary: 'Readiness: the job store, the object store and each source answer',
        description: '503 names the failing part.',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_req, reply) => {
      const checks = await deps.readiness();
      const ready = checks.every((c) => c.ok);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unready', checks });
    },
  );

  app.get(
    '/metrics',
    {
      logLevel: 'warn',
      schema: {
        tags,
        summary: 'Prometheus metrics (text format)',
        description: 'Needs the admin token when one is configured.',
        security: [...ADMIN, {}],
        response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } }, ...errors(403) },
      },
    },
    async (req, reply) => {
      if (deps.adminToken) admin(req);
      const body = await deps.metrics.registry.metrics();
      return reply.status(200).header('content-type', deps.metrics.registry.contentType).send(body);
    },
  );

  app.get(
    '/openapi.json',
    { schema: { tags, summary: 'This API, as an OpenAPI 3.1 document', response: { 200: { description: 'The OpenAPI document', content: { 'application/json': { schema: z.looseObject({ openapi: z.string() }) } } } } } },
    async () => app.swagger(),
  );
}
