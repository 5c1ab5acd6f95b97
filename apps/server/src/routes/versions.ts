import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { DeltaQuery, ExportScheduleCreate, SnapshotQuery, VersionListRequest } from '@ferry/core';
import type { ScheduleService, SyncResponse, SyncService } from '@ferry/engine';
import { ADMIN, API_KEY, errors, fileBody, noBody } from '../openapi.js';
import { Page, ScheduleView, VersionView } from '../schemas.js';
import { apiKeyOf } from '../auth.js';
import type { RouteContext } from './context.js';

export interface VersionRoutesDeps {
  sync: SyncService;
  schedules: ScheduleService;
}

const ByKey = z.object({ key: z.string() });
const ByDataset = z.object({ dataset: z.string() });
const ById = z.object({ id: z.string() });
const Binary = z.string().meta({ format: 'binary' });

/**
 * Dataset versions, the sync API (docs/versions.md) and saved export schedules. Publishing a
 * version reaches every account, so it takes the admin token; the rest takes an account's key.
 */
export function versionRoutes(app: FastifyInstance, { account, admin }: RouteContext, { sync, schedules }: VersionRoutesDeps): void {
  // Fastify streams Node streams, not bare async iterables; destroying the stream (client gone)
  // ends the iterable, which removes its scratch files.
  const send = (reply: FastifyReply, res: SyncResponse) => reply.status(200).headers(res.headers).send(Readable.from(res.body, { objectMode: false }));
  const tags = ['versions'];

  app.post<{ Params: { key: string } }>(
    '/datasets/:key/versions',
    {
      schema: {
        tags,
        summary: 'Publish a version of a dataset (snapshot + delta, `dataset.version.published` to every account)',
        security: ADMIN,
        params: ByKey,
        response: { 201: VersionView, ...errors(400, 403, 404, 503) },
      },
    },
    async (req, reply) => {
      admin(req);
      return reply.status(201).send(await sync.publish(req.params.key));
    },
  );
  app.get<{ Params: { key: string } }>(
    '/datasets/:key/versions',
    {
      schema: { tags, summary: "A dataset's versions, newest first", security: API_KEY, params: ByKey, querystring: VersionListRequest, response: { 200: Page(VersionView), ...errors(400, 403, 404) } },
    },
    async (req) => {
      await account(req);
      return sync.list(req.params.key, req.query);
    },
  );
  app.get<{ Params: { dataset: string } }>(
    '/sync/:dataset/deltas',
    {
      schema: {
        tags,
        summary: 'Rows changed since a cursor (seed 002), coalesced across versions',
        security: API_KEY,
        params: ByDataset,
        querystring: DeltaQuery,
        response: { 200: fileBody('The changes, with an `op` column, in the requested format', Binary), ...errors(400, 403, 404, 410) },
      },
    },
    async (req, reply) => {
      await account(req);
      return send(reply, await sync.deltas(req.params.dataset, req.query));
    },
  );
  app.get<{ Params: { dataset: string } }>(
    '/sync/:dataset/snapshot',
    {
      schema: {
        tags,
        summary: 'A full snapshot at a cursor (default the latest)',
        security: API_KEY,
        params: ByDataset,
        querystring: SnapshotQuery,
        response: { 200: fileBody('Every row of the version, in the requested format', Binary), ...errors(400, 403, 404, 410) },
      },
    },
    async (req, reply) => {
      await account(req);
      return send(reply, await sync.snapshot(req.params.dataset, req.query));
    },
  );

  const scheduleTags = ['schedules'];
  app.get(
    '/admin/schedules',
    {
      schema: {
        tags: ['admin'],
        summary: "The catalog's dataset publish schedules (dsv_<key>)",
        description: 'Configured by `versioning.schedule` in the catalog, not through the API.',
        security: ADMIN,
        response: { 200: z.object({ data: z.array(ScheduleView) }), ...errors(403, 404) },
      },
    },
    async () => schedules.listPublishSchedules(),
  );
  app.post(
    '/exports/schedules',
    {
      schema: {
        tags: scheduleTags,
        summary: 'Save an export that runs on a cron schedule',
        security: API_KEY,
        body: ExportScheduleCreate,
        response: { 201: ScheduleView, ...errors(400, 403, 503) },
      },
    },
    async (req, reply) => reply.status(201).send(await schedules.create(await account(req), apiKeyOf(req.headers)!, req.body)),
  );
  app.get(
    '/exports/schedules',
    { schema: { tags: scheduleTags, summary: "The account's saved exports", security: API_KEY, response: { 200: z.object({ data: z.array(ScheduleView) }), ...errors(403) } } },
    async (req) => schedules.list(await account(req)),
  );
  app.get<{ Params: { id: string } }>(
    '/exports/schedules/:id',
    { schema: { tags: scheduleTags, summary: 'One saved export', security: API_KEY, params: ById, response: { 200: ScheduleView, ...errors(403, 404) } } },
    async (req) => schedules.get(await account(req), req.params.id),
  );
  app.delete<{ Params: { id: string } }>(
    '/exports/schedules/:id',
    { schema: { tags: scheduleTags, summary: 'Delete a saved export', security: API_KEY, params: ById, response: { 204: noBody('Deleted'), ...errors(403, 404) } } },
    async (req, reply) => {
      await schedules.delete(await account(req), req.params.id);
      return reply.status(204).send();
    },
  );
}
