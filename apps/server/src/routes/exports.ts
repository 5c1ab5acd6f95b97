import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ExportListRequest, ExportRequest } from '@ferry/core';
import { API_KEY, errors } from '../openapi.js';
import { ExportStatus, ExportSummary, Page, Submitted } from '../schemas.js';
import { apiKeyOf } from '../auth.js';
import type { RouteContext } from './context.js';

const ExportParams = z.object({ queryUUID: z.string() });
type ById = { Params: { queryUUID: string } };

/** The seeds' export API, plus listing and cancelling. */
export function exportRoutes(app: FastifyInstance, { deps, account }: RouteContext): void {
  app.post(
    '/dataset/export',
    {
      schema: {
        tags: ['exports'],
        summary: 'Submit an export',
        description: 'Validates the query against the catalog and the webhook URL, queues the export and answers at once. The webhook follows when the file is ready.',
        security: API_KEY,
        body: ExportRequest,
        response: { 201: Submitted, ...errors(400, 403, 413, 415, 429, 503) },
      },
    },
    async (req, reply) => {
      const caller = await account(req);
      const result = await deps.exports.submit(caller, apiKeyOf(req.headers)!, req.body);
      deps.onQueued?.();
      return reply.status(201).send(result);
    },
  );

  app.get(
    '/dataset/export',
    {
      schema: {
        tags: ['exports'],
        summary: "List the account's exports, newest first",
        security: API_KEY,
        querystring: ExportListRequest,
        response: { 200: Page(ExportSummary), ...errors(400, 403) },
      },
    },
    async (req) => deps.exports.list(await account(req), req.query),
  );

  app.get<ById>(
    '/dataset/export/:queryUUID',
    {
      schema: {
        tags: ['exports'],
        summary: "An export's state, progress, files and webhook deliveries",
        security: API_KEY,
        params: ExportParams,
        response: { 200: ExportStatus, ...errors(403, 404) },
      },
    },
    async (req) => deps.exports.status(await account(req), req.params.queryUUID),
  );

  app.post<ById>(
    '/dataset/export/:queryUUID/cancel',
    {
      schema: {
        tags: ['exports'],
        summary: 'Cancel a queued or running export',
        description: 'It fails with `export.failed` "cancelled by request"; its partial files are removed; with `notifyOnFailure` the webhook URL hears of it.',
        security: API_KEY,
        params: ExportParams,
        response: { 200: ExportStatus, ...errors(403, 404, 409) },
      },
    },
    async (req) => deps.exports.cancel(await account(req), req.params.queryUUID),
  );
}
