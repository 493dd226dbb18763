// Fledge fake Datadog (v1 metrics query + key validation; series configured through /_series; see server.ts).
// Run: node --import tsx src/dev/fake-datadog/main.ts [--port N] [--host H] [--api-key K ...] [--app-key K ...]
// Default port 0 (any free port; printed). Not part of the dev stack's components (yet).
import { parseArgs } from 'node:util';
import { exitOnSignals, portArg } from '../http.js';
import { startFakeDatadog } from './server.js';

const log = (msg: string): void => console.log(`${new Date().toISOString()} fake-datadog ${msg}`);

async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'app-key': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const dd = await startFakeDatadog({
    port: portArg(args.port, 0),
    host: args.host ?? '127.0.0.1',
    log,
    ...(args['api-key'] ? { apiKeys: args['api-key'] } : {}),
    ...(args['app-key'] ? { applicationKeys: args['app-key'] } : {}),
  });
  log(
    `listening on ${dd.url} (provider.address; control endpoints /_series /_fail /_requests /_reset /healthz)`,
  );
  exitOnSignals(log, dd.close);
}

main().catch((e: unknown) => {
  console.error(`fake-datadog: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
