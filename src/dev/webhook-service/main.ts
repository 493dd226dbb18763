// Fledge webhook test service (records hook calls, programmable answers, Flagger loadtester gates).
// Run: node --import tsx src/dev/webhook-service/main.ts [--port N] [--host H]
// Default port: loadStackConfig().ports.webhook (env FLEDGE_WEBHOOK_PORT). It never executes commands.
// --signing-key K (default: env FLEDGE_WEBHOOK_SIGNING_KEY, the worker's key): verify X-Fledge-Signature.
import { parseArgs } from 'node:util';
import { exitOnSignals, portArg } from '../http.js';
import { loadStackConfig } from '../stack/config.js';
import { startWebhookService } from './server.js';

const log = (msg: string): void => console.log(`${new Date().toISOString()} webhook-service ${msg}`);
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, host: { type: 'string' }, 'signing-key': { type: 'string' } },
    strict: true,
  });
  const stack = loadStackConfig();
  const port = portArg(args.port, stack.ports.webhook);
  const signingKey = args['signing-key'] ?? process.env.FLEDGE_WEBHOOK_SIGNING_KEY;
  const service = await startWebhookService({
    port,
    host: args.host ?? '127.0.0.1',
    log,
    ...(signingKey ? { signingKey } : {}),
  });
  log(
    `listening on ${service.url} (hooks on any path; /gate/*, /rollback/*; control: /_calls /_program /_gates /_reset /healthz)${signingKey ? '; verifying X-Fledge-Signature' : ''}`,
  );

  exitOnSignals(log, service.close);
}

main().catch((e: unknown) => {
  console.error(`webhook-service: ${errText(e)}`);
  process.exit(1);
});
