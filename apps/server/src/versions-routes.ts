import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Account } from '@ferry/core';
import type { ScheduleService, SyncResponse, SyncService } from '@ferry/engine';

export interface VersionRoutesDeps {
  sync: SyncService;
  schedules: ScheduleService;
}

type Params<K extends string> = { Params: Record<K, string> };

/**
 * Dataset versions, the sync API (docs/versions.md) and saved export schedules. Every route takes
 * the account's x-api-key, like the rest of the API.
 */
export function registerVersionRoutes(
  app: FastifyInstance,
  deps: VersionRoutesDeps,
  auth: (headers: Record<string, unknown>) => Promise<Account>,
  apiKey: (headers: Record<string, unknown>) => string | undefined,
): void {
  const { sync, schedules } = deps;
  // Fastify streams Node streams, not bare async iterables; destroying the stream (client gone)
  // ends the iterable, which removes its scratch files.
  const send = (reply: FastifyReply, res: SyncResponse) => reply.status(200).headers(res.headers).send(Readable.from(res.body, { objectMode: false }));

  app.post<Params<'key'>>('/datasets/:key/versions', async (req, reply) => {
    await auth(req.headers);
    return reply.status(201).send(await sync.publish(req.params.key));
  });
  app.get<Params<'key'>>('/datasets/:key/versions', async (req) => {
    await auth(req.headers);
    return sync.list(req.params.key, req.query);
  });
  app.get<Params<'dataset'>>('/sync/:dataset/deltas', async (req, reply) => {
    await auth(req.headers);
    return send(reply, await sync.deltas(req.params.dataset, req.query));
  });
  app.get<Params<'dataset'>>('/sync/:dataset/snapshot', async (req, reply) => {
    await auth(req.headers);
    return send(reply, await sync.snapshot(req.params.dataset, req.query));
  });

  app.post('/exports/schedules', async (req, reply) => {
    const account = await auth(req.headers);
    return reply.status(201).send(await schedules.create(account, apiKey(req.headers)!, req.body));
  });
  app.get('/exports/schedules', async (req) => schedules.list(await auth(req.headers)));
  app.get<Params<'id'>>('/exports/schedules/:id', async (req) => schedules.get(await auth(req.headers), req.params.id));
  app.delete<Params<'id'>>('/exports/schedules/:id', async (req, reply) => {
    await schedules.delete(await auth(req.headers), req.params.id);
    return reply.status(204).send();
  });
}
