import type { FastifyInstance, FastifySchema, FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { $ZodRegistry, $ZodType, globalRegistry, toJSONSchema } from 'zod/v4/core';
import { ErrorCodes, parseOrThrow, type ErrorCode, type FieldPath } from '@ferry/core';
import { ErrorBody } from './schemas.js';

const BASE_PATH: Record<string, FieldPath> = { body: [], querystring: ['query'], params: ['params'], headers: ['headers'] };

/**
 * Requests are checked against the route's zod schema, failing with Ferry's error shape and the
 * exact field path. Handlers still get the input as sent: services parse it again with their own
 * rules, and the seed signature is computed over the JSON exactly as the client sent it.
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    try {
      parseOrThrow(schema, data, { basePath: BASE_PATH[httpPart ?? 'body'] ?? [] });
      return { value: data };
    } catch (err) {
      return { error: err as Error };
    }
  };

const isZod = (schema: unknown): schema is z.ZodType => schema instanceof $ZodType;

/** Answers with a zod schema are checked and encoded by it; the rest (files, redirects, empty bodies) go as they are. */
export const serializerCompiler: FastifySerializerCompiler<unknown> = (route) =>
  isZod(route.schema) ? zodSerializerCompiler(route as Parameters<typeof zodSerializerCompiler>[0]) : (data) => JSON.stringify(data);

type ResponseSpec = Record<string, unknown>;

const REQUEST_PARTS = ['body', 'querystring', 'params', 'headers'] as const;
const COMPONENT = '#/components/schemas/';

/**
 * Definitions that recursive request schemas share (a filter group holds filters), collected
 * while routes are documented and added to the document's components. The zod type provider drops
 * them, leaving dangling references, so request schemas are converted here.
 */
const sharedDefinitions = new Map<string, unknown>();

function requestSchemaToJson(schema: z.ZodType): unknown {
  const registry = new $ZodRegistry<{ id?: string }>();
  registry.add(schema, { id: 'route' });
  const { schemas } = toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    metadata: globalRegistry,
    unrepresentable: 'any',
    cycles: 'ref',
    reused: 'inline',
    uri: (id) => `${COMPONENT}${id}`,
  });
  const shared = (schemas['__shared'] as { $defs?: Record<string, unknown> } | undefined)?.$defs ?? {};
  const rewrite = (value: unknown) =>
    JSON.parse(JSON.stringify(value), (key, v: unknown) =>
      key === '$ref' && typeof v === 'string' ? v.replace(`${COMPONENT}__shared#/$defs/`, COMPONENT) : key === '$id' || key === '$schema' ? undefined : v,
    ) as unknown;
  for (const [name, definition] of Object.entries(shared)) {
    const json = rewrite(definition);
    const seen = sharedDefinitions.get(name);
    if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(json)) throw new Error(`two different request schemas share the name ${name}: give one an id`);
    sharedDefinitions.set(name, json);
  }
  return rewrite(schemas['route']);
}

/**
 * Request schemas are converted here (see `sharedDefinitions`); responses by the zod transform,
 * except those without a body (204, 302, 304), which are described as such.
 */
const documentTransform: typeof jsonSchemaTransform = (document) => {
  const schema = (document.schema ?? {}) as FastifySchema & Record<string, unknown>;
  const response = schema.response as ResponseSpec | undefined;
  const bodiless = Object.entries(response ?? {}).filter(([, spec]) => !isZod(spec) && !(typeof spec === 'object' && spec !== null && 'content' in spec));
  const rest = response && Object.fromEntries(Object.entries(response).filter(([status]) => !bodiless.some(([s]) => s === status)));
  const requests = Object.fromEntries(REQUEST_PARTS.filter((part) => isZod(schema[part])).map((part) => [part, requestSchemaToJson(schema[part] as z.ZodType)]));
  const others = Object.fromEntries(Object.entries(schema).filter(([key]) => !(REQUEST_PARTS as readonly string[]).includes(key)));
  const transformed = jsonSchemaTransform({ ...document, schema: { ...others, ...(rest ? { response: rest } : {}) } });
  if (transformed.schema.hide) return transformed;
  return {
    ...transformed,
    schema: {
      ...transformed.schema,
      ...requests,
      ...(response ? { response: { ...(transformed.schema.response as ResponseSpec), ...Object.fromEntries(bodiless) } } : {}),
    },
  };
};

type OpenApiObject = { components?: { schemas?: Record<string, unknown> } } & Record<string, unknown>;

/** Every zod schema with an id gets an input and an output component; keep only those something refers to. */
function withoutUnusedSchemas(document: OpenApiObject): OpenApiObject {
  const schemas = { ...document.components?.schemas, ...Object.fromEntries(sharedDefinitions) };
  if (!schemas) return document;
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    const text = JSON.stringify(value) ?? '';
    for (const [, name] of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      if (used.has(name!)) continue;
      used.add(name!);
      visit(schemas[name!]);
    }
  };
  visit({ ...document, components: { ...document.components, schemas: {} } });
  return { ...document, components: { ...document.components, schemas: Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name))) } };
}

/** A response without a body, for `schema.response` (`type: 'null'` is how @fastify/swagger says "no content"). */
export const noBody = (description: string) => ({ type: 'null', description });

/** A binary file answer, for `schema.response`. */
export const fileBody = (description: string, schema: z.ZodType) => ({ description, content: { 'application/octet-stream': { schema } } });

/** The error answers a route can give, each documented with the codes of its status. */
export function errors(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => {
      const codes = (Object.entries(ErrorCodes) as Array<[ErrorCode, number]>).filter(([, s]) => s === status).map(([code]) => `\`${code}\``);
      const description = `${STATUS_TEXT[status] ?? 'Error'}${codes.length ? `: ${codes.join(', ')}` : ''}`;
      return [status, { description, content: { 'application/json': { schema: ErrorBody } } }];
    }),
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad input (the path says which field)',
  403: 'Missing, unknown or revoked credentials',
  404: 'Not found (or not yours)',
  409: 'Conflicts with the current state',
  410: 'Gone',
  413: 'Body too large',
  415: 'Not a JSON body in UTF-8',
  416: 'Range not satisfiable',
  422: 'Not supported here',
  429: 'Too many requests (see Retry-After)',
  503: 'Temporarily unavailable (see Retry-After)',
};

export const API_KEY = [{ apiKey: [] }];
export const ADMIN = [{ adminToken: [] }];

/** The OpenAPI 3.1 document, generated from the routes' schemas, and the reference page at /docs (assets from npm, works offline). */
export function registerOpenApi(app: FastifyInstance, version: string): void {
  // On the root, before any route, so its onRoute hook sees every route.
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Ferry',
        version,
        description:
          'Asynchronous dataset exports: POST a dataset query, get `201` at once, and a signed webhook with a download link when the file is ready. ' +
          'Every error is `{"error": {"code", "message", "path"?}}`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: "An account's API key." },
          adminToken: { type: 'http', scheme: 'bearer', description: 'The operator token (`FERRY_ADMIN_TOKEN`); without one configured the admin API is off.' },
        },
      },
      tags: [
        { name: 'exports', description: 'Submit exports, follow them, cancel them' },
        { name: 'datasets', description: 'The catalog: what can be exported' },
        { name: 'downloads', description: 'The 30-day links in webhooks' },
        { name: 'webhooks', description: 'Registered endpoints, the delivery log, replay' },
        { name: 'events', description: 'The event feed' },
        { name: 'versions', description: 'Dataset versions and the sync API (cursors, deltas, snapshots)' },
        { name: 'schedules', description: 'Saved exports on a cron schedule' },
        { name: 'keys', description: "An account's own API keys" },
        { name: 'admin', description: 'Tenants and their keys (operator token)' },
        { name: 'operations', description: 'Health, readiness, metrics, this document' },
      ],
    },
    transform: documentTransform,
    transformObject: (document) => withoutUnusedSchemas(jsonSchemaTransformObject(document) as OpenApiObject) as ReturnType<typeof jsonSchemaTransformObject>,
  });
  void app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
}
