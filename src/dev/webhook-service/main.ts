// Fledge webhook test service (records hook calls, programmable answers, Flagger loadtester gates).
// Run: node --import tsx src/dev/webhook-service/main.ts [--port N] [--host H]
// Default port: loadStackConfig().ports.webhook (env FLEDGE_WEBHOOK_PORT). It never executes commands.
import { parseArgs } from 'node:util';
import { loadStackConfig } from '../stack/config.js';
import { startWebhookService } from './server.js';

const log = (msg: string): void => console.log(`${new Date().toISOString()} webhook-service ${msg}`);
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, host: { type: 'string' } },
    strict: true,
  });
  const stack = loadStackConfig();
  const port = args.port === undefined ? stack.ports.webhook : Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port=${args.port} is not a valid port`);
  const service = await startWebhookService({ port, host: args.host ?? '127.0.0.1', log });
  log(
    `listening on ${service.url} (hooks on any path; /gate/*, /rollback/*; control: /_calls /_program /_gates /_reset /healthz)`,
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    setTimeout(() => process.exit(0), 2000).unref();
    void service.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  console.error(`webhook-service: ${errText(e)}`);
  process.exit(1);
});
