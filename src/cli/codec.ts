// `fledge codec-server`: serves Temporal's remote-codec protocol with the worker's payload keys, so the Web UI and
// `temporal --codec-endpoint` show decrypted payloads to whoever may call it (see docs/security.md).
import type { Command } from 'commander';
import { CliError, exitCodes } from './errors.js';

export function registerCodecCommand(program: Command): void {
  program
    .command('codec-server')
    .description(
      'decrypt/encrypt payloads for the Web UI and the temporal CLI (keys: FLEDGE_CODEC_KEYS[_FILE])',
    )
    .option('--port <port>', 'listen port', '28888')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option(
      '--cors-origin <origins>',
      'comma-separated Web UI origins allowed by CORS (FLEDGE_CODEC_CORS_ORIGINS)',
    )
    .action(async (opts: { port: string; host: string; corsOrigin?: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new CliError(`--port: expected 0..65535, got ${opts.port}`, exitCodes.invalidInput);
      const { codecKeysFromEnv } = await import('../codec/encryption.js');
      const { createCodecServer } = await import('../codec/server.js');
      const keys = codecKeysFromEnv();
      if (!keys)
        throw new CliError(
          'no payload keys: set FLEDGE_CODEC_KEYS or FLEDGE_CODEC_KEYS_FILE (the worker’s keys)',
          exitCodes.invalidInput,
        );
      const token = process.env.FLEDGE_CODEC_SERVER_TOKEN;
      const origins = (opts.corsOrigin ?? process.env.FLEDGE_CODEC_CORS_ORIGINS ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const server = createCodecServer({
        keys,
        corsOrigins: origins,
        ...(token ? { token } : {}),
        log: (l) => console.error(l),
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, opts.host, () => resolve());
      });
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      console.log(
        `fledge codec server on http://${opts.host}:${bound} (keys: ${[...keys.keys.keys()].join(', ')}; active ${keys.activeId}; ${token ? 'bearer token required' : 'NO authentication'})`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
