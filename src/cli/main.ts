#!/usr/bin/env node
// The `fledge` command line (the program itself: ./program.ts).
import { runCli } from './program.js';

void runCli(process.argv).then((code) => {
  process.exitCode = code;
});
