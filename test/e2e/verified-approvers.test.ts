// Verified approvers on the real stack: a release whose spec names who may open its gate and abort it, a worker with
// a Slack signing secret (its interactions endpoint on) and a trusted OIDC issuer (a locally generated key pair, its
// JWKS in a file). Slack button presses come from a fake Slack that signs them as Slack does (POST /_interact).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import type { ReleaseResult } from '../../src/domain/result.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { FakeSlackClient } from '../../src/dev/fake-slack/client.js';
import { startFakeSlack, type RunningFakeSlack } from '../../src/dev/fake-slack/server.js';
import type { RunningSlackInteractions } from '../../src/interactions/slack.js';
import { submitRelease } from '../../src/starter.js';
import { startInteractions } from '../../src/worker.js';
import { abortSignal, abortUpdate, approveUpdate, statusQuery } from '../../src/workflows/messages.js';
import { operatorRequestRejectedType } from '../../src/workflows/release.js';
import { recordHistory } from '../support/histories.js';
import { eventually } from '../support/stack.js';
import { canaryYaml, startE2E, targetNamespace, type E2E } from './support.js';

const secret = 'e2e-slack-signing-secret-0123456789';
const issuer = 'https://oidc.e2e.example.com';
let key: CryptoKey;
let e: E2E;
let fake: RunningFakeSlack;
let presser: FakeSlackClient;
let interactions: RunningSlackInteractions;
const logLines: string[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  key = pair.privateKey;
  const dir = mkdtempSync(join(tmpdir(), 'fledge-e2e-jwks-'));
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(
    jwksFile,
    JSON.stringify({
      keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'e2e', alg: 'ES256', use: 'sig' }],
    }),
  );
  e = await startE2E('approvers', {
    FLEDGE_SLACK_SIGNING_SECRET: secret,
    FLEDGE_INTERACTIONS_HOST: '127.0.0.1',
    FLEDGE_INTERACTIONS_PORT: '0',
    FLEDGE_SLACK_USER_MAP: JSON.stringify({ U0ALICE01: 'alice@example.com' }),
    FLEDGE_APPROVER_GROUPS: JSON.stringify({ sre: ['oncall@example.com'] }),
    FLEDGE_OIDC_ISSUERS: JSON.stringify([{ issuer, audience: 'fledge', jwksFile, actorClaim: 'email' }]),
  });
  const started = await startInteractions(e.cfg, e.client, { log: (l) => logLines.push(l) });
  if (!started) throw new Error('the interactions endpoint did not start');
  interactions = started;
  fake = await startFakeSlack({ port: 0, signingSecret: secret });
  presser = new FakeSlackClient(fake.url);
});
afterAll(async () => {
  await interactions?.close();
  await fake?.close();
  await e?.stop();
});

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';

async function idToken(email: string, opts: { expSeconds?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email })
    .setProtectedHeader({ alg: 'ES256', kid: 'e2e' })
    .setIssuer(issuer)
    .setAudience('fledge')
    .setSubject(email)
    .setIssuedAt(now - 600)
    .setExpirationTime(now + (opts.expSeconds ?? 300))
    .sign(key);
}

async function status(h: WorkflowHandle): Promise<ReleaseStatus> {
  return (await h.query(statusQuery)) as ReleaseStatus;
}

/** The update's failure: its message and ApplicationFailure type. */
async function rejection(p: Promise<unknown>): Promise<{ message: string; type: string | undefined }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    return {
      message: cause instanceof Error ? cause.message : String(cause),
      type: cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined,
    };
  }
  throw new Error('the update was accepted');
}

describe('verified approvers (spec.fledge.approvers) on a running release', () => {
  it('forged Slack press rejected; non-approvers and empty reasons rejected; a signed approver press approves; a verified SRE aborts', async () => {
    const ns = await targetNamespace(e, 'e2e-approvers', v1);
    const channel = `C-${ns.name}`;
    const yaml =
      canaryYaml(ns.name, {
        extraAnalysis:
          '    alerts:\n      - name: releases\n        severity: info\n        providerRef:\n          name: slack\n',
        fledge:
          '  fledge:\n    manualGates: [confirm-rollout]\n    approvers:\n      confirm-rollout: [alice@example.com]\n      abort: [group:sre]\n',
      }) +
      `---\napiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata:\n  name: slack\n  namespace: ${ns.name}\nspec:\n  type: slack\n  channel: ${channel}\n`;
    const sub = await submitRelease(e.client, e.cfg, { yaml, images: { app: v2 }, initiator: 'e2e' });
    const h = e.client.workflow.getHandle(sub.workflowId);
    await eventually(
      'the release waits at confirm-rollout',
      async () => ((await status(h)).pendingGate?.gate === 'confirm-rollout' ? true : undefined),
      { timeoutMs: 90_000 },
    );

    // (iv) An abort with an empty reason is rejected by the validator: nothing recorded.
    const empty = await rejection(
      h.executeUpdate(abortUpdate, { args: [{ actor: 'oncall@example.com', reason: '  ' }] }),
    );
    expect(empty.message).toMatch(/a reason is required for abort/);
    expect(empty.type).toBe(operatorRequestRejectedType);

    // (iii) A self-declared actor — even one named in the list — is not an approver (identity: verified).
    const selfDeclared = await rejection(
      h.executeUpdate(approveUpdate, { args: [{ actor: 'alice@example.com', reason: '' }] }),
    );
    expect(selfDeclared.message).toMatch(/approve confirm-rollout needs a verified identity/);
    // (iii) A verified non-approver (OIDC): rejected after verification, recorded as rejected.
    const mallory = await rejection(
      h.executeUpdate(approveUpdate, {
        args: [{ actor: 'whoever', reason: 'ship it', idToken: await idToken('mallory@example.com') }],
      }),
    );
    expect(mallory.type).toBe(operatorRequestRejectedType);
    expect(mallory.message).toMatch(
      /^approve rejected: mallory@example.com \(verified by oidc\) may not approve confirm-rollout/,
    );
    // An expired ID token: rejected with the reason, recorded as rejected.
    const expired = await rejection(
      h.executeUpdate(approveUpdate, {
        args: [
          {
            actor: 'alice@example.com',
            reason: '',
            idToken: await idToken('alice@example.com', { expSeconds: -120 }),
          },
        ],
      }),
    );
    expect(expired.message).toMatch(
      /identity not verified: ID token of https:\/\/oidc.e2e.example.com: token expired/,
    );

    // The thread parent carries the buttons, each with the release's workflow ID.
    const parent = await eventually('the Slack parent shows the Approve button', async () => {
      const [m] = await e.slack.messages(channel);
      const actions = m?.blocks?.find((b) => b.type === 'actions') as
        { block_id: string; elements: Array<{ action_id: string; value: string }> } | undefined;
      return actions?.elements.some((x) => x.action_id === 'fledge:approve') ? actions : undefined;
    });
    expect(parent.block_id).toBe('fledge:actions:confirm-rollout');
    const approve = parent.elements.find((x) => x.action_id === 'fledge:approve');
    expect(approve?.value).toBe(sub.workflowId);
    const press = {
      userId: 'U0ALICE01',
      actionId: 'fledge:approve',
      value: sub.workflowId,
      blockId: parent.block_id,
    };

    // (i) A forged interaction (signed with a guessed secret): 401, logged and counted, nothing happens.
    const forged = await presser.pressButton(interactions.url, press, { secret: 'guessed-secret-xxxxxxxx' });
    expect(forged.status).toBe(401);
    const stale = await presser.pressButton(interactions.url, press, {
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    expect(stale.status).toBe(401);
    await new Promise((r) => setTimeout(r, 1500));
    expect(interactions.counts()).toMatchObject({ forged: 1, stale: 1, accepted: 0 });
    expect(logLines.some((l) => /rejected \(forged\): signature does not match/.test(l))).toBe(true);
    const before = await status(h);
    expect(before.pendingGate?.gate).toBe('confirm-rollout');
    expect(before.pendingGate?.approvedBy).toBeUndefined();

    // (ii) A signed press from the approver (Slack user mapped to alice@example.com) approves the gate.
    const genuine = await presser.pressButton(interactions.url, press);
    expect(genuine.status).toBe(200);
    await interactions.idle();
    expect(interactions.counts().accepted).toBe(1);
    const approved = await eventually('the gate is approved by the Slack user', async () => {
      const st = await status(h);
      return st.operatorLog.some((a) => a.action === 'approve' && a.accepted) ? st : undefined;
    });
    const accepted = approved.operatorLog.find((a) => a.action === 'approve' && a.accepted);
    expect(accepted).toMatchObject({ actor: 'alice@example.com', verified: 'slack' });
    expect(accepted).not.toHaveProperty('claimedActor'); // the press named alice@example.com (mapped) itself
    expect(approved.operatorLog.filter((a) => !a.accepted)).toEqual([
      expect.objectContaining({ actor: 'mallory@example.com', verified: 'oidc', claimedActor: 'whoever' }),
      expect.objectContaining({
        actor: 'alice@example.com',
        rejectionReason: expect.stringMatching(/token expired/),
      }),
    ]);
    // The same signed request sent again is a replay.
    const replay = await fetch(interactions.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Slack-Request-Timestamp': genuine.sent.timestamp ?? '',
        'X-Slack-Signature': genuine.sent.signature ?? '',
      },
      body: genuine.sent.body,
    });
    expect(replay.status).toBe(401);

    // Signals are checked the same way: logged as rejected, never acted on (a self-declared actor; a bad token).
    const logged = (await status(h)).operatorLog.length;
    await h.signal(abortSignal, { actor: 'mallory@example.com', reason: 'self-declared' });
    await h.signal(abortSignal, {
      actor: 'oncall@example.com',
      reason: 'forged token',
      idToken: (await idToken('oncall@example.com')).replace(/\.[^.]+$/, '.AAAA'),
    });
    const afterSignals = await eventually('both signals are logged', async () => {
      const st = await status(h);
      return st.operatorLog.length >= logged + 2 ? st : undefined;
    });
    expect(afterSignals.outcome).toBeNull();
    expect(afterSignals.operatorLog.slice(logged)).toEqual([
      expect.objectContaining({
        action: 'abort',
        accepted: false,
        rejectionReason: expect.stringMatching(/^abort needs a verified identity/),
      }),
      expect.objectContaining({
        action: 'abort',
        accepted: false,
        rejectionReason: expect.stringMatching(
          /^identity not verified: ID token of .*: (bad signature|malformed token)/,
        ),
      }),
    ]);

    // A verified member of group:sre (OIDC; FLEDGE_APPROVER_GROUPS) aborts, with a reason.
    await h.executeUpdate(abortUpdate, {
      args: [{ actor: 'oncall', reason: 'verified abort', idToken: await idToken('oncall@example.com') }],
    });
    const result = (await h.result()) as ReleaseResult;
    expect(result.outcome).toBe('Aborted');
    expect(result.reason.message).toBe('Aborted by oncall@example.com: verified abort');
    expect(result.operatorActions.at(-1)).toMatchObject({
      action: 'abort',
      actor: 'oncall@example.com',
      verified: 'oidc',
      accepted: true,
    });
    await recordHistory(e.client, h.workflowId, 'release-verified-approvers');
  });
});
