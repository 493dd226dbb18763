// Fledge fake Slack (chat.postMessage, chat.update, auth.test; messages in memory; injectable failures).
// Run: node --import tsx src/dev/fake-slack/main.ts [--port N] [--host H] [--token T ...]
// Default port: loadStackConfig().ports.fakeSlack (env FLEDGE_FAKE_SLACK_PORT); slackApiUrl = <url>/api/.
import { parseArgs } from 'node:util';
import { exitOnSignals, portArg } from '../http.js';
import { loadStackConfig } from '../stack/config.js';
import { startFakeSlack } from './server.js';

const log = (msg: string): void => console.log(`${new Date().toISOString()} fake-slack ${msg}`);
const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      token: { type: 'string', multiple: true },
      'signing-secret': { type: 'string' },
    },
    strict: true,
  });
  const stack = loadStackConfig();
  const port = portArg(args.port, stack.ports.fakeSlack);
  const slack = await startFakeSlack({
    port,
    host: args.host ?? '127.0.0.1',
    log,
    ...(args.token ? { tokens: args.token } : {}),
    // What POST /_interact signs interaction requests with (as the Slack app would).
    ...((args['signing-secret'] ?? process.env.FLEDGE_SLACK_SIGNING_SECRET)
      ? { signingSecret: args['signing-secret'] ?? process.env.FLEDGE_SLACK_SIGNING_SECRET }
      : {}),
  });
  log(
    `listening on ${slack.url} (slackApiUrl ${slack.apiUrl}; test endpoints /_messages /_attempts /_fail /_interact /_reset /healthz)`,
  );

  exitOnSignals(log, slack.close);
}

main().catch((e: unknown) => {
  console.error(`fake-slack: ${errText(e)}`);
  process.exit(1);
});
