// Starting and stopping the stack's local processes: detached, logs under the state dir, one PID file each.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PidRecord {
  name: string;
  pid: number;
  command: string;
  args: string[];
  startedAt: string;
}

export interface SpawnSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function pidFile(runDir: string, name: string): string {
  return join(runDir, `${name}.pid.json`);
}

export function readPid(runDir: string, name: string): PidRecord | undefined {
  const f = pidFile(runDir, name);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

/** True when the PID is alive and still runs the command we started (guards against PID reuse). */
export function isOurProcess(rec: PidRecord): boolean {
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0');
    const exe = rec.command.split('/').pop() ?? rec.command;
    return cmdline.some((part) => part.endsWith(exe));
  } catch {
    return false;
  }
}

export function startProcess(spec: SpawnSpec, runDir: string, logDir: string): PidRecord {
  mkdirSync(runDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, `${spec.name}.log`);
  const fd = openSync(logPath, 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${spec.name}: failed to spawn ${spec.command}`);
  child.unref();
  const rec: PidRecord = {
    name: spec.name,
    pid: child.pid,
    command: spec.command,
    args: spec.args,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(pidFile(runDir, spec.name), JSON.stringify(rec, null, 2));
  return rec;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Stops exactly the process recorded in the PID file (SIGTERM, then SIGKILL after graceMs). */
export async function stopProcess(
  runDir: string,
  name: string,
  graceMs = 10_000,
): Promise<'stopped' | 'not-running'> {
  const rec = readPid(runDir, name);
  if (!rec) return 'not-running';
  let result: 'stopped' | 'not-running' = 'not-running';
  if (isOurProcess(rec)) {
    result = 'stopped';
    // Detached children lead their own process group: signal the group so helpers (e.g. tsx) go too.
    const signal = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-rec.pid, sig);
      } catch {
        try {
          process.kill(rec.pid, sig);
        } catch {
          /* already gone */
        }
      }
    };
    signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && isOurProcess(rec)) await sleep(100);
    if (isOurProcess(rec)) signal('SIGKILL');
    while (isOurProcess(rec)) await sleep(50);
  }
  rmSync(pidFile(runDir, name), { force: true });
  return result;
}

export function tailLog(logDir: string, name: string, lines = 15): string {
  const f = join(logDir, `${name}.log`);
  if (!existsSync(f)) return '(no log)';
  return readFileSync(f, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
