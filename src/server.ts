/**
 * @module server
 * The `conveyor/server` entry: the HTTP API (CONTRACT §6) for programs that embed it.
 * Kept apart from the library entry so `import 'conveyor'` does not load the web stack.
 */
export { startServer, type ServerOptions, type RunningServer } from './api/http/server.js';
export { buildApp, type BuiltApp } from './api/http/app.js';
export { configFromEnv, parseApiKeys, DEFAULT_CONFIG, type ServerConfig } from './api/http/config.js';
export { hashApiKey } from './api/http/auth.js';
