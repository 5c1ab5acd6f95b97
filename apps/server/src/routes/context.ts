import type { FastifyRequest } from 'fastify';
import type { Account } from '@ferry/core';
import type { ServerDeps } from '../server.js';
import { apiKeyOf, requireAdmin } from '../auth.js';

/** What every route module gets: the services, and the two ways of proving who is calling. */
export interface RouteContext {
  deps: ServerDeps;
  /** The caller's account, from `x-api-key`. */
  account(req: FastifyRequest): Promise<Account & { keyId: string }>;
  /** Throws unless the caller holds the admin token. */
  admin(req: FastifyRequest): void;
}

const authenticated = new WeakMap<FastifyRequest, Promise<Account & { keyId: string }>>();

export function routeContext(deps: ServerDeps): RouteContext {
  const account = (req: FastifyRequest) => {
    let caller = authenticated.get(req);
    if (!caller) {
      caller = deps.accounts.authenticate(apiKeyOf(req.headers));
      authenticated.set(req, caller);
    }
    return caller;
  };
  const admin = (req: FastifyRequest) => requireAdmin(deps.adminToken, req.headers);
  return { deps, account, admin };
}

/**
 * Who may call a route is what its OpenAPI `security` says, checked before anything else (an
 * unauthenticated request gets 403 whatever its body). An empty alternative (`{}`) makes the
 * credential optional: the handler decides.
 */
export function checkSecurity(ctx: RouteContext) {
  return async (req: FastifyRequest): Promise<void> => {
    const security = (req.routeOptions.schema as { security?: Array<Record<string, unknown>> } | undefined)?.security;
    if (!security || security.some((s) => Object.keys(s).length === 0)) return;
    if (security.some((s) => 'adminToken' in s)) ctx.admin(req);
    else if (security.some((s) => 'apiKey' in s)) await ctx.account(req);
  };
}
