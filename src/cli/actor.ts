// Who is acting when a command is not told (`--actor`, `--initiator`): shared by `start`, `retry` and the operator
// commands, in a module of its own so that they need not import each other.
import { execFileSync } from 'node:child_process';
import { hostname, userInfo } from 'node:os';

function gitUserEmail(): string | undefined {
  try {
    const email = execFileSync('git', ['config', '--get', 'user.email'], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return email || undefined;
  } catch {
    return undefined;
  }
}

function osIdentity(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
  return `${user}@${hostname()}`;
}

/**
 * Who is acting, when `--actor`/`--initiator` is not given: `$FLEDGE_ACTOR`, else the git identity
 * (`git config user.email`), else `<os user>@<host>`.
 */
export function defaultActor(
  env: Record<string, string | undefined> = process.env,
  sources: { gitEmail?: () => string | undefined; os?: () => string } = {},
): string {
  const fromEnv = env.FLEDGE_ACTOR?.trim();
  if (fromEnv) return fromEnv;
  return (sources.gitEmail ?? gitUserEmail)() ?? (sources.os ?? osIdentity)();
}
