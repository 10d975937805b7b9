/**
 * @module app
 * The HTTP API of CONTRACT §6 as a Fastify app over one Conveyor: JSON-schema validation
 * of every parameter, query and body (bodies strictly typed, queries coerced from their
 * text), bodies over the limit refused with 413 before they are read, JSON depth capped,
 * API keys and tenants, a per-key rate limit, the OpenAPI document and its docs page, and
 * one error body for everything that goes wrong.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Conveyor } from '../../client/conveyor.js';
import { ConveyorError } from '../../core/errors.js';
import { authenticate } from './auth.js';
import type { ServerConfig } from './config.js';
import { errorBody, sendError } from './error-mapping.js';
import { checkHost } from './host-guard.js';
import { dashboardRoutes, findDashboard, isDashboardPath } from './dashboard.js';
import { QueueDepthSampler } from './queue-depth.js';
import { registerJsonParser } from './json-body.js';
import { ServiceMetrics } from './metrics.js';
import { executorRoutes } from './routes/executors.js';
import { systemRoutes } from './routes/system.js';
import { taskRoutes } from './routes/tasks.js';
import { workflowRoutes } from './routes/workflows.js';
import { mcpRoutes } from '../mcp/http.js';

/** Documentation of the API itself: readable without a key (it holds no tenant's data). */
const PUBLIC = new Set(['/openapi.json', '/docs']);
const isPublic = (url: string) => {
  const path = url.split('?', 1)[0]!;
  return PUBLIC.has(path) || path.startsWith('/docs/') || isDashboardPath(path);
};

function validators() {
  const options = { allErrors: false, removeAdditional: false, useDefaults: false, strict: false } as const;
  // Bodies are JSON and must have the declared types; queries and path parameters are text.
  const strict = addFormats.default(new Ajv.default({ ...options, coerceTypes: false }));
  const coercing = addFormats.default(new Ajv.default({ ...options, coerceTypes: true }));
  return { strict, coercing };
}

export interface BuiltApp {
  app: FastifyInstance;
  metrics: ServiceMetrics;
  /** Whether the dashboard is served at `/`. */
  dashboard: boolean;
}

export interface AppExtras {
  /** The built dashboard's folder; false serves none. Default: the package's dist/dashboard. */
  dashboardDir?: string | false;
}

export async function buildApp(
  cv: Conveyor,
  config: ServerConfig,
  defaultTenant: string,
  logger: FastifyServerOptions['logger'] = false,
  extras: AppExtras = {},
): Promise<BuiltApp> {
  const app = Fastify({
    logger,
    bodyLimit: config.bodyLimit,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 500 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Errors Fastify answers before routing (a malformed URL, a parameter too long) get our body too.
    frameworkErrors: (error, request, reply) => void sendError(reply, request, error),
  });
  const { strict, coercing } = validators();
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema as object),
  );
  registerJsonParser(app, config.maxJsonDepth);
  app.setErrorHandler((error, request, reply) => sendError(reply, request, error));
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?', 1)[0]}`)),
  );

  const metrics = new ServiceMetrics(cv);
  const tenants = config.apiKeys.size > 0 ? [...new Set(config.apiKeys.values())] : [defaultTenant];
  const depth = new QueueDepthSampler(cv, tenants, config.statsIntervalMs);
  depth.start();
  app.addHook('onClose', (_instance, done) => {
    metrics.close();
    depth.stop();
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    done();
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unknown',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  app.decorateRequest('tenant', '');
  app.decorateRequest('keyHash', null);
  const hostPolicy = { keyless: config.apiKeys.size === 0, allowedHosts: config.allowedHosts };
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      checkHost(request, hostPolicy);
      if (isPublic(request.url)) request.tenant = defaultTenant;
      else authenticate(request, config.apiKeys, defaultTenant);
      done();
    } catch (e) {
      done(e as Error);
    }
  });
  await app.register(rateLimit, {
    max: config.rateLimit.max,
    timeWindow: config.rateLimit.windowMs,
    keyGenerator: (request) => request.keyHash ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      new ConveyorError(
        'RATE_LIMITED',
        `rate limit of ${context.max} requests per ${context.after} reached`,
        {
          details: { retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        },
      ),
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Conveyor API',
        version: '0.1.0',
        description:
          'Durable tasks and workflows over HTTP (CONTRACT §6). Errors: { error: { code, message, details? } }.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key' } },
      },
      security: config.apiKeys.size > 0 ? [{ apiKey: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, (_request, reply) => reply.send(app.swagger()));

  taskRoutes(app, cv);
  executorRoutes(app, cv, config.apiKeys.size > 0);
  workflowRoutes(app, cv, config.maxWorkflowSteps);
  systemRoutes(app, cv, metrics, depth, config.sseHeartbeatSeconds);
  mcpRoutes(app, cv, config.maxWorkflowSteps);
  const dashboardDir = config.dashboard ? (extras.dashboardDir ?? findDashboard()) : false;
  const dashboard = dashboardDir !== false && (await dashboardRoutes(app, dashboardDir));
  await app.ready();
  return { app, metrics, dashboard };
}
