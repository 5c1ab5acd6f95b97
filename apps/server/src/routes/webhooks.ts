import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DeliveryListQuery, EndpointCreate, EndpointUpdate, EventListQuery, RecoverRequest } from '@ferry/core';
import { API_KEY, errors, noBody } from '../openapi.js';
import { CreatedEndpoint, DeliveryDetail, DeliveryStats, DeliveryView, EndpointView, EventEnvelope, Page, RotatedSecret } from '../schemas.js';
import type { RouteContext } from './context.js';

const ById = z.object({ id: z.string() });
type Id = { Params: { id: string } };

/** Registered endpoints, the delivery log with replay, and the event feed: all per account. */
export function webhookRoutes(app: FastifyInstance, { deps, account }: RouteContext): void {
  const hooks = deps.webhooks;
  const tags = ['webhooks'];
  const security = API_KEY;

  app.post(
    '/webhooks/endpoints',
    {
      schema: {
        tags,
        security,
        summary: 'Register an endpoint for events',
        description: 'The answer carries the signing secret, shown only this once.',
        body: EndpointCreate,
        response: { 201: CreatedEndpoint, ...errors(400, 403, 503) },
      },
    },
    async (req, reply) => reply.status(201).send(await hooks.createEndpoint(await account(req), req.body)),
  );
  app.get(
    '/webhooks/endpoints',
    { schema: { tags, security, summary: "The account's registered endpoints", response: { 200: z.object({ data: z.array(EndpointView) }), ...errors(403) } } },
    async (req) => hooks.listEndpoints(await account(req)),
  );
  app.get<Id>(
    '/webhooks/endpoints/:id',
    { schema: { tags, security, summary: 'One endpoint', params: ById, response: { 200: EndpointView, ...errors(403, 404) } } },
    async (req) => hooks.getEndpoint(await account(req), req.params.id),
  );
  app.patch<Id>(
    '/webhooks/endpoints/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Change an endpoint (URL, events, enabled, description, retry schedule)',
        params: ById,
        body: EndpointUpdate,
        response: { 200: EndpointView, ...errors(400, 403, 404, 503) },
      },
    },
    async (req) => hooks.updateEndpoint(await account(req), req.params.id, req.body),
  );
  app.delete<Id>(
    '/webhooks/endpoints/:id',
    { schema: { tags, security, summary: 'Delete an endpoint (its pending deliveries fail)', params: ById, response: { 204: noBody('Deleted'), ...errors(403, 404) } } },
    async (req, reply) => {
      await hooks.deleteEndpoint(await account(req), req.params.id);
      return reply.status(204).send();
    },
  );
  app.post<Id>(
    '/webhooks/endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        security,
        summary: 'Rotate the signing secret',
        description: 'The new secret signs from now on; the previous one keeps signing too for 24 hours, so receivers can switch over.',
        params: ById,
        response: { 200: RotatedSecret, ...errors(403, 404) },
      },
    },
    async (req) => hooks.rotateSecret(await account(req), req.params.id),
  );

  app.get(
    '/webhooks/deliveries',
    {
      schema: { tags, security, summary: 'The delivery log, oldest first', querystring: DeliveryListQuery, response: { 200: Page(DeliveryView), ...errors(400, 403) } },
    },
    async (req) => hooks.listDeliveries(await account(req), req.query),
  );
  app.get(
    '/webhooks/stats',
    { schema: { tags, security, summary: "Deliveries of the caller's account by state", response: { 200: DeliveryStats, ...errors(403) } } },
    // Stored counts of the caller's account only: a process's own counters would show every tenant's traffic.
    async (req) => ({ stored: await hooks.counts(await account(req)) }),
  );
  app.post(
    '/webhooks/deliveries/recover',
    {
      schema: {
        tags,
        security,
        summary: 'Redeliver every failed delivery since a time',
        body: RecoverRequest,
        response: { 200: z.object({ recovered: z.int().min(0) }), ...errors(400, 403) },
      },
    },
    async (req) => hooks.recover(await account(req), req.body),
  );
  app.get<Id>(
    '/webhooks/deliveries/:id',
    { schema: { tags, security, summary: 'One delivery with its attempt log', params: ById, response: { 200: DeliveryDetail, ...errors(403, 404) } } },
    async (req) => hooks.getDelivery(await account(req), req.params.id),
  );
  app.post<Id>(
    '/webhooks/deliveries/:id/redeliver',
    {
      schema: {
        tags,
        security,
        summary: 'Send a delivery again, with the same webhook-id, from the start of its schedule',
        params: ById,
        response: { 202: DeliveryDetail, ...errors(403, 404) },
      },
    },
    async (req, reply) => reply.status(202).send(await hooks.redeliver(await account(req), req.params.id)),
  );

  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        security,
        summary: "The account's events of the last 30 days, oldest first",
        querystring: EventListQuery,
        response: { 200: Page(EventEnvelope), ...errors(400, 403) },
      },
    },
    async (req) => hooks.listEvents(await account(req), req.query),
  );
}
