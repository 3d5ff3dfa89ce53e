#!/usr/bin/env node
// The `accdiffusion` command: a shim over the compiled CLI (src/cli/main.ts, built by `tsc` into dist/).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2), { handleSigint: true });
