#!/usr/bin/env node
// The `accdiffusion` command: a shim over the compiled CLI (src/cli/main.ts, built by `tsc` into dist/).
import { main } from '../dist/src/cli/main.js';
import { configureCliProcess } from '../dist/src/cli/host-process.js';

configureCliProcess();
process.exitCode = await main(process.argv.slice(2), { handleSigint: true });
