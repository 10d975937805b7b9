#!/usr/bin/env node
/** @module mcp/main The `conveyor-mcp` bin: `conveyor mcp` (stdio.ts), configured by CONVEYOR_* only. */
import { ConveyorError } from '../../core/errors.js';
import { runMcpStdio } from './stdio.js';

runMcpStdio().catch((e: unknown) => {
  const message =
    e instanceof ConveyorError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`conveyor-mcp: cannot start: ${message}\n`);
  process.exit(1);
});
