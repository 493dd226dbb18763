// What the CLI says when it falls back to the embedded dev stack's Temporal (TEMPORAL_ADDRESS unset).
import type { ConfigDefaults } from '../config.js';

/** A `useDevStackDefaults` callback that reports the fallback to Temporal once per process. */
export function devStackNotice(
  write: (line: string) => void,
): (defaults: ConfigDefaults, env: NodeJS.ProcessEnv) => void {
  let said = false;
  return (defaults, env) => {
    if (said || env.TEMPORAL_ADDRESS !== undefined) return;
    said = true;
    write(
      `fledge: TEMPORAL_ADDRESS is not set: using ${defaults.source}'s Temporal at ${defaults.temporalAddress} ` +
        `(namespace ${env.TEMPORAL_NAMESPACE ?? defaults.temporalNamespace})`,
    );
  };
}
