// Wire types of the webhook test service, shared by the server and its typed client.
import { z } from 'zod';

/** Flagger's webhook body (`CanaryWebhookPayload`): what every hook POST carries. */
export const flaggerPayloadSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1),
  phase: z.string().min(1),
  checksum: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type FlaggerPayload = z.infer<typeof flaggerPayloadSchema>;

/** What the gate endpoints need from the body: the canary's name and namespace (the rest is ignored). */
export const gateRequestSchema = z.object({
  name: z
    .string({ error: (i) => (i.input === undefined ? 'required' : 'must be a string') })
    .min(1, 'must not be empty'),
  namespace: z
    .string({ error: (i) => (i.input === undefined ? 'required' : 'must be a string') })
    .min(1, 'must not be empty'),
});
export type GateRequest = z.infer<typeof gateRequestSchema>;

/** `PUT /_program`: how to answer the next calls to one exact path. */
export const programSpecSchema = z.strictObject({
  path: z.string().startsWith('/', 'path must start with /'),
  status: z.number().int().min(100).max(599),
  /** Wait this long before answering (a slow hook; longer than the caller's timeout = a timeout). */
  delayMs: z.number().int().min(0).max(600_000).optional(),
  /** Response body: a string is sent as text/plain, anything else as JSON. Default {"ok": status < 400, "programmed": true}. */
  body: z.unknown().optional(),
  /** Extra response headers. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Apply to the next N calls, then revert to the default behaviour. Omitted: until `DELETE /_program`. */
  times: z.number().int().positive().optional(),
});
export type ProgramSpec = z.infer<typeof programSpecSchema>;

export interface ActiveProgram extends ProgramSpec {
  /** Calls this program still applies to; null = until reset. */
  remaining: number | null;
  /** Calls answered by it so far. */
  hits: number;
}

export interface RecordedCall {
  /** 1, 2, 3… in arrival order (not reset by `DELETE /_calls`). */
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** content-type, user-agent, authorization, idempotency-key and every x-* header. */
  headers: Record<string, string>;
  /** The body parsed as JSON; null when empty or not JSON (then `rawBody` has the text). */
  body: unknown;
  rawBody?: string;
  /** The body when it is a valid Flagger webhook payload, else null. */
  payload: FlaggerPayload | null;
  receivedAt: string;
  /** With a signing key: whether X-Fledge-Signature verified (and why not). */
  signature?: { valid: boolean; reason?: string };
  /** Set once answered (absent while a programmed delay is running). */
  response?: { status: number; programmed: boolean; respondedAt: string };
}

export type GateKind = 'gate' | 'rollback';

export interface GateState {
  kind: GateKind;
  name: string;
  namespace: string;
  open: boolean;
}
