#!/usr/bin/env node
/** @module main The `conveyor-server` bin: `conveyor start` (cli/run-server.ts), configured by CONVEYOR_* only. */
import { runStart } from '../../cli/run-server.js';
import { reportError } from '../../cli/errors.js';

runStart({}).catch((e: unknown) => process.exit(reportError(e, (line) => console.error(line))));
