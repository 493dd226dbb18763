// A typed client for the fake Datadog's control endpoints (server.ts documents them).
import { jsonRequest } from '../http.js';
import type { RecordedRequest, SeriesSpec } from './server.js';

export class FakeDatadogClient {
  constructor(readonly baseUrl: string) {}

  private req<T>(method: string, path: string, body?: unknown): Promise<T> {
    return jsonRequest<T>('fake-datadog', this.baseUrl, method, path, body);
  }

  /** Answer `query` (whitespace-collapsed; `*` = any other) with these series. */
  async setSeries(spec: SeriesSpec): Promise<void> {
    await this.req('PUT', '/_series', spec);
  }

  /** The next `times` query requests fail with `status`. */
  async fail(spec: { status: number; times?: number; errors?: string[]; body?: string }): Promise<void> {
    await this.req('PUT', '/_fail', spec);
  }

  async requests(): Promise<RecordedRequest[]> {
    return (await this.req<{ requests: RecordedRequest[] }>('GET', '/_requests')).requests;
  }

  async reset(): Promise<void> {
    await this.req('POST', '/_reset');
  }
}
