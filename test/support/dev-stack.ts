// The tests run against the embedded dev stack, and opt in to it explicitly (src/config.ts has no defaults of its
// own): in-process configurations take the stack's values for unset settings, and child processes (the CLI, built
// entries) inherit the stack's settings as an explicit environment. A test that needs a setting unset passes its
// own environment (and `defaults: null`).
import { devStackEnv, useDevStackDefaults } from '../../src/dev/stack/config.js';

useDevStackDefaults();
for (const [k, v] of Object.entries(devStackEnv())) process.env[k] ??= v;
