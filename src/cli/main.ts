#!/usr/bin/env node
// The `fledge` command line (the program itself: ./program.ts).
//
// The CLI's client commands opt in to the embedded dev stack: a setting the environment leaves unset takes the
// stack's value (`npx fledge start …` after `npm run demo` needs no setup), and when that is Temporal's address the
// CLI says so on standard error, once. `fledge worker` takes no defaults (./worker.ts).
import { devStackNotice } from './dev-notice.js';
import { useDevStackDefaults } from '../dev/stack/config.js';
import { runCli } from './program.js';

useDevStackDefaults(devStackNotice((line) => process.stderr.write(`${line}\n`)));

void runCli(process.argv).then((code) => {
  process.exitCode = code;
});
