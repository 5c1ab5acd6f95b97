import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The web dashboard (packages/dashboard) at `/ui/`: the files `npm install` built into its dist/.
 * None of these routes is part of the API, so all are hidden from the OpenAPI document.
 */

/** Where the dashboard's build lands, or null when the package is not installed at all. */
export function dashboardDir(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@ferry/dashboard/package.json')), 'dist');
  } catch {
    return null;
  }
}

const HIDDEN = { schema: { hide: true } };

/**
 * The page and its files run nothing from elsewhere and talk only to this API; frames are refused.
 * `img-src data:` is the empty favicon.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function secure(reply: FastifyReply): void {
  void reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  void reply.header('x-content-type-options', 'nosniff');
  void reply.header('x-frame-options', 'DENY');
  void reply.header('referrer-policy', 'no-referrer');
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Ferry: the dashboard is not built</title></head>
<body>
<h1>The dashboard is not built</h1>
<p>Ferry serves its web dashboard from <code>packages/dashboard/dist</code>, which <code>npm install</code> builds. It is missing here.</p>
<p>Build it with <code>npm run build:dashboard</code> (it works offline), then reload this page. The API itself works without it: see <a href="../docs">/docs</a>.</p>
</body></html>`;

export function dashboardRoutes(app: FastifyInstance, dir: string | null = dashboardDir()): void {
  // The page loads its files by relative URLs, which need the trailing slash.
  app.get('/ui', HIDDEN, (_req, reply) => reply.redirect('ui/'));

  if (!dir || !existsSync(join(dir, 'index.html'))) {
    app.log.warn(`the dashboard is not built (${dir ?? '@ferry/dashboard is not installed'}): /ui/ answers 404 until \`npm run build:dashboard\``);
    app.get('/ui/*', HIDDEN, (_req, reply) => {
      secure(reply);
      return reply.status(404).type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    });
    return;
  }

  app.log.info({ dir }, 'the dashboard is at /ui/');
  void app.register(async (ui) => {
    ui.addHook('onRequest', async (_req, reply) => secure(reply));
    await ui.register(fastifyStatic, {
      root: dir,
      prefix: '/ui/',
      index: 'index.html',
      decorateReply: false,
      schemaHide: true,
      // Files are looked up when asked for, so a rebuild is served without a restart.
      wildcard: true,
      cacheControl: false,
      setHeaders(res, path) {
        // Vite names assets by their content: they never change. The page itself is checked every time.
        res.setHeader('cache-control', path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  });
}
