/**
 * @module mcp/http
 * `POST /mcp`: the MCP tools over Streamable HTTP, stateless (each request is its own
 * exchange, answered as JSON), behind the API's own keys, tenants and rate limit: a call
 * acts as the request's tenant. GET and DELETE, which only a session would use, answer 405.
 * A request refused before it reaches the transport (a body that is not JSON, or is too
 * large, deep or poisoned) is answered as JSON-RPC too, since that is what an MCP client
 * reads: a parse error (-32700), or an invalid request (-32600), with the API's error in
 * `data`.
 */
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import type { Conveyor } from '../../client/conveyor.js';
import { errorBody, toHttpError } from '../http/error-mapping.js';
import { createMcpServer } from './tools.js';

export function mcpRoutes(app: FastifyInstance, cv: Conveyor, maxWorkflowSteps: number): void {
  // A scope of its own, so its error handler answers for /mcp alone.
  void app.register((scope, _options, done) => {
    mcpScope(scope, cv, maxWorkflowSteps);
    done();
  });
}

function mcpScope(app: FastifyInstance, cv: Conveyor, maxWorkflowSteps: number): void {
  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toHttpError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const parse = body.error.code === 'VALIDATION' && body.error.message.startsWith('body:');
    return reply
      .code(status)
      .type('application/json')
      .send({
        jsonrpc: '2.0',
        id: null,
        error: { code: parse ? -32700 : -32600, message: body.error.message, data: body.error },
      });
  });
  app.post(
    '/mcp',
    { schema: { tags: ['mcp'], summary: 'MCP tools (Streamable HTTP, stateless JSON-RPC)' } },
    async (request, reply) => {
      const server = createMcpServer(cv, { tenant: request.tenant, maxWorkflowSteps });
      // No session id generator: stateless, one exchange per request.
      const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
      reply.hijack();
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    },
  );
  for (const method of ['GET', 'DELETE'] as const)
    app.route({
      method,
      url: '/mcp',
      schema: { hide: true },
      handler: (_request, reply) =>
        reply
          .code(405)
          .header('allow', 'POST')
          .send(errorBody('VALIDATION', 'this MCP endpoint is stateless: POST JSON-RPC requests to it')),
    });
}
