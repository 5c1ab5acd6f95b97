import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AccountRecord, ApiKeyRecord } from '@ferry/core';
import { ADMIN, API_KEY, errors, noBody } from '../openapi.js';
import { AccountView, CreatedKey, KeyView } from '../schemas.js';
import type { RouteContext } from './context.js';

const accountView = (a: AccountRecord) => ({ id: a.id, name: a.name, createdAt: a.createdAt.toISOString() });
const keyView = (k: ApiKeyRecord) => ({
  id: k.id,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});
const createdKey = ({ id, key, record }: { id: string; key: string; record: ApiKeyRecord }) => ({ id, key, prefix: record.prefix, createdAt: record.createdAt.toISOString() });

const AccountId = z.object({ id: z.coerce.number().int().min(1) });
const KeyId = z.object({ keyId: z.string() });

/** Tenants and their keys: the operator's admin API, and each account's own key rotation. */
export function keyRoutes(app: FastifyInstance, { deps, account, admin }: RouteContext): void {
  const { accounts } = deps;

  app.get(
    '/keys',
    { schema: { tags: ['keys'], summary: "The caller's account's keys", security: API_KEY, response: { 200: z.object({ data: z.array(KeyView) }), ...errors(403) } } },
    async (req) => ({ data: (await accounts.listKeys((await account(req)).id)).map(keyView) }),
  );
  app.post(
    '/keys',
    {
      schema: { tags: ['keys'], summary: 'A new key for the caller\'s account, shown once', security: API_KEY, response: { 201: CreatedKey, ...errors(403) } },
    },
    async (req, reply) => reply.status(201).send(createdKey(await accounts.createKey((await account(req)).id))),
  );
  app.delete<{ Params: { keyId: string } }>(
    '/keys/:keyId',
    {
      schema: { tags: ['keys'], summary: 'Revoke one of the account\'s keys, at once', security: API_KEY, params: KeyId, response: { 204: noBody('Revoked'), ...errors(403, 404) } },
    },
    async (req, reply) => {
      await accounts.revokeKey(req.params.keyId, (await account(req)).id);
      return reply.status(204).send();
    },
  );

  const tags = ['admin'];
  app.post(
    '/admin/accounts',
    {
      schema: {
        tags,
        summary: 'Create an account (a tenant)',
        security: ADMIN,
        body: z.strictObject({ name: z.string().trim().min(1).max(200).optional() }).optional(),
        response: { 201: AccountView, ...errors(400, 403, 404) },
      },
    },
    async (req, reply) => {
      admin(req);
      const name = (req.body as { name?: string } | undefined)?.name?.trim() ?? null;
      return reply.status(201).send(accountView(await accounts.createAccount(name)));
    },
  );
  app.get(
    '/admin/accounts',
    { schema: { tags, summary: 'Every account', security: ADMIN, response: { 200: z.object({ data: z.array(AccountView) }), ...errors(403, 404) } } },
    async (req) => {
      admin(req);
      return { data: (await accounts.listAccounts()).map(accountView) };
    },
  );
  app.post<{ Params: { id: number } }>(
    '/admin/accounts/:id/keys',
    { schema: { tags, summary: 'A new key for an account, shown once', security: ADMIN, params: AccountId, response: { 201: CreatedKey, ...errors(400, 403, 404) } } },
    async (req, reply) => {
      admin(req);
      return reply.status(201).send(createdKey(await accounts.createKey(Number(req.params.id))));
    },
  );
  app.get<{ Params: { id: number } }>(
    '/admin/accounts/:id/keys',
    { schema: { tags, summary: "An account's keys (never the keys themselves)", security: ADMIN, params: AccountId, response: { 200: z.object({ data: z.array(KeyView) }), ...errors(400, 403, 404) } } },
    async (req) => {
      admin(req);
      return { data: (await accounts.listKeys(Number(req.params.id))).map(keyView) };
    },
  );
  app.delete<{ Params: { keyId: string } }>(
    '/admin/keys/:keyId',
    { schema: { tags, summary: 'Revoke a key, at once', security: ADMIN, params: KeyId, response: { 204: noBody('Revoked'), ...errors(403, 404) } } },
    async (req, reply) => {
      admin(req);
      await accounts.revokeKey(req.params.keyId);
      return reply.status(204).send();
    },
  );
}
