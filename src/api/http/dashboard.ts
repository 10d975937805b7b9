/**
 * @module dashboard
 * Serves the built dashboard (dashboard/ → dist/dashboard by `npm run build`) at `/`. The
 * page itself holds no data: it asks for an API key and reads everything over the API,
 * so its files are public, like /docs. Without a build (a source checkout that was never
 * built) `/` answers 404 saying how to build it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './error-mapping.js';

/** Next to the compiled server (dist/api/http → dist/dashboard), or dist/ seen from src/. */
const CANDIDATES = ['../../dashboard/', '../../../dist/dashboard/'];

export function findDashboard(): string | undefined {
  for (const relative of CANDIDATES) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

export const isDashboardPath = (path: string): boolean =>
  path === '/' || path === '/index.html' || path.startsWith('/assets/') || path === '/favicon.svg';

// Scripts and styles only from the server itself; the page talks to its own origin only.
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Serves `dir` at `/`; a folder without index.html (never built) gets the 404 that says so. */
export async function dashboardRoutes(app: FastifyInstance, dir: string | undefined): Promise<boolean> {
  if (dir === undefined || !existsSync(join(dir, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, (_request, reply) =>
      reply
        .code(404)
        .send(errorBody('NOT_FOUND', 'the dashboard is not built here: run `npm run build` in the package')),
    );
    return false;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    cacheControl: false,
    // Hashed asset names never change; index.html must be re-read to find new ones.
    setHeaders: (res, path) => {
      res.setHeader('content-security-policy', CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader(
        'cache-control',
        path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
      );
    },
  });
  return true;
}
