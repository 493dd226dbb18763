// Typed client of the webhook test service, for tests and dev tooling.
import { jsonRequest } from '../http.js';
import type { ActiveProgram, GateKind, GateState, ProgramSpec, RecordedCall } from './protocol.js';

export interface GateResponse {
  status: number;
  text: string;
}

export class WebhookServiceClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return jsonRequest<T>('webhook-service', this.baseUrl, method, path, body);
  }

  /** Recorded hook calls, oldest first; only those whose path starts with `pathPrefix` when given. */
  async calls(pathPrefix?: string): Promise<RecordedCall[]> {
    const q = pathPrefix === undefined ? '' : `?path=${encodeURIComponent(pathPrefix)}`;
    return (await this.request<{ calls: RecordedCall[] }>('GET', `/_calls${q}`)).calls;
  }

  /** Polls until at least `count` calls match `pathPrefix`; returns them. */
  async waitForCalls(
    pathPrefix: string,
    count: number,
    opts: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<RecordedCall[]> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const calls = await this.calls(pathPrefix);
      if (calls.length >= count) return calls;
      if (Date.now() > deadline)
        throw new Error(`webhook-service: ${calls.length} call(s) to ${pathPrefix}*, wanted ${count}`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
    }
  }

  async clear(): Promise<void> {
    await this.request('DELETE', '/_calls');
  }

  async program(spec: ProgramSpec): Promise<ActiveProgram> {
    return (await this.request<{ program: ActiveProgram }>('PUT', '/_program', spec)).program;
  }

  async programs(): Promise<ActiveProgram[]> {
    return (await this.request<{ programs: ActiveProgram[] }>('GET', '/_program')).programs;
  }

  /** Drops every program (or the one for `path`): those paths answer with the default behaviour again. */
  async reset(path?: string): Promise<void> {
    await this.request('DELETE', `/_program${path === undefined ? '' : `?path=${encodeURIComponent(path)}`}`);
  }

  /** Calls, programs and gates. */
  async resetAll(): Promise<void> {
    await this.request('POST', '/_reset');
  }

  async gates(): Promise<GateState[]> {
    return (await this.request<{ gates: GateState[] }>('GET', '/_gates')).gates;
  }

  async resetGates(): Promise<void> {
    await this.request('DELETE', '/_gates');
  }

  /** POSTs `{name, namespace}` to a gate endpoint the way an operator's curl does; returns status and text. */
  async gate(
    kind: GateKind,
    action: 'check' | 'open' | 'close',
    name: string,
    namespace: string,
  ): Promise<GateResponse> {
    const res = await fetch(`${this.baseUrl}/${kind}/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, namespace }),
    });
    return { status: res.status, text: await res.text() };
  }

  private async change(
    kind: GateKind,
    action: 'open' | 'close',
    name: string,
    namespace: string,
  ): Promise<void> {
    const r = await this.gate(kind, action, name, namespace);
    if (r.status !== 202)
      throw new Error(`webhook-service ${kind}/${action} ${name}.${namespace}: HTTP ${r.status}: ${r.text}`);
  }

  openGate(name: string, namespace: string): Promise<void> {
    return this.change('gate', 'open', name, namespace);
  }

  closeGate(name: string, namespace: string): Promise<void> {
    return this.change('gate', 'close', name, namespace);
  }

  openRollback(name: string, namespace: string): Promise<void> {
    return this.change('rollback', 'open', name, namespace);
  }

  closeRollback(name: string, namespace: string): Promise<void> {
    return this.change('rollback', 'close', name, namespace);
  }

  async isGateOpen(name: string, namespace: string): Promise<boolean> {
    return (await this.gate('gate', 'check', name, namespace)).status === 200;
  }

  async isRollbackOpen(name: string, namespace: string): Promise<boolean> {
    return (await this.gate('rollback', 'check', name, namespace)).status === 200;
  }

  async healthy(): Promise<boolean> {
    try {
      return (await fetch(`${this.baseUrl}/healthz`)).ok;
    } catch {
      return false;
    }
  }
}
