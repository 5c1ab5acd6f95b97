import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { FerryError } from '@ferry/core';
import { API_KEY, errors } from '../openapi.js';
import { Catalog, DatasetDescription } from '../schemas.js';
import { describeDataset } from '../datasets.js';
import type { RouteContext } from './context.js';

/** The catalog: what may be exported, never where it lives. */
export function datasetRoutes(app: FastifyInstance, { deps, account }: RouteContext): void {
  app.get(
    '/datasets',
    { schema: { tags: ['datasets'], summary: 'The dataset catalog', security: API_KEY, response: { 200: Catalog, ...errors(403) } } },
    async (req) => {
      await account(req);
      return { default: deps.catalog.defaultKey, datasets: deps.catalog.list().map((d) => describeDataset(d, deps.formats)) };
    },
  );
  app.get<{ Params: { key: string } }>(
    '/datasets/:key',
    {
      schema: {
        tags: ['datasets'],
        summary: 'One dataset: columns, types, roles, allowed aggregates and granularities, limits',
        security: API_KEY,
        params: z.object({ key: z.string() }),
        response: { 200: DatasetDescription, ...errors(403, 404) },
      },
    },
    async (req) => {
      await account(req);
      const dataset = deps.catalog.get(req.params.key);
      if (!dataset) throw new FerryError('NOT_FOUND', `no dataset "${req.params.key}"`);
      return describeDataset(dataset, deps.formats);
    },
  );
}
