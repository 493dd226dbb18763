// Connecting to Temporal from the CLI: a failure to connect is an infrastructure failure (exit 6) naming the
// address, and happens only after every input was validated.
import type { Client } from '@temporalio/client';
import type { FledgeConfig } from '../config.js';
import { CliError, exitCodes } from './errors.js';

export async function connectCli(cfg: FledgeConfig): Promise<Client> {
  // Loaded here, not at import: only a command that connects pays for the Temporal client.
  const [{ CodecKeyError, codecKeysFromEnv }, { connectClient }] = await Promise.all([
    import('../codec/encryption.js'),
    import('../starter.js'),
  ]);
  // Payload keys are input too: a malformed FLEDGE_CODEC_KEYS is a configuration error (5), found before connecting.
  try {
    codecKeysFromEnv();
  } catch (e) {
    if (e instanceof CodecKeyError) throw new CliError(e.message, exitCodes.invalidInput);
    throw e;
  }
  try {
    return await connectClient(cfg);
  } catch (e) {
    throw new CliError(
      `cannot connect to Temporal at ${cfg.temporal.address} (namespace ${cfg.temporal.namespace}): ${e instanceof Error ? e.message : String(e)}`,
      exitCodes.infrastructure,
    );
  }
}
