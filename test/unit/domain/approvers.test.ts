// Verified approvers (src/domain/approvers.ts): who may open which gate, pause, promote or abort, and the limits of an
// operator message's text — pure checks used by the workflow's update validators and by decide() for signals.
import { describe, expect, it } from 'vitest';
import {
  checkApprover,
  checkIdentityTokenShape,
  checkOperatorText,
  type ApproversPlan,
  type OperatorIdentity,
} from '../../../src/domain/approvers.js';
import type { OperatorActionName } from '../../../src/domain/state.js';
import type { GateName } from '../../../src/domain/state.js';
import { validateOperatorAction } from '../../../src/domain/operator.js';
import { compileApprovers, approversSchema } from '../../../src/domain/manifest/schema-approvers.js';
import { canary, makePlan, Scenario } from './scenario.js';

const approvers: ApproversPlan = {
  rules: {
    'confirm-promotion': ['alice@example.com', 'group:sre'],
    abort: ['slack:U0SRE0001', 'group:sre'],
    pause: ['bob@example.com'],
  },
  identity: 'verified',
};

const slack = (actor: string, extra: Partial<OperatorIdentity> = {}): OperatorIdentity => ({
  via: 'slack',
  actor,
  aliases: [],
  groups: [],
  ...extra,
});
const oidc = (actor: string, extra: Partial<OperatorIdentity> = {}): OperatorIdentity => ({
  via: 'oidc',
  actor,
  aliases: [],
  groups: [],
  ...extra,
});

describe('checkApprover', () => {
  const cases: Array<{
    name: string;
    plan?: ApproversPlan;
    action: OperatorActionName;
    gate?: GateName;
    actor?: string;
    identity?: OperatorIdentity;
    pending?: boolean;
    ok: boolean;
    reason?: RegExp;
  }> = [
    { name: 'no approvers: anyone', plan: undefined, action: 'abort', ok: true },
    { name: 'scope not listed: anyone', action: 'promote', identity: oidc('x@y'), ok: true },
    { name: 'gate not listed: anyone', action: 'approve', gate: 'confirm-rollout', ok: true },
    {
      name: 'verified user listed',
      action: 'approve',
      gate: 'confirm-promotion',
      identity: oidc('alice@example.com'),
      ok: true,
    },
    {
      name: 'verified user matched by an alias',
      action: 'abort',
      identity: slack('carol@example.com', { aliases: ['slack:U0SRE0001'] }),
      ok: true,
    },
    {
      name: 'verified member of a listed group',
      action: 'approve',
      gate: 'confirm-promotion',
      identity: slack('slack:U0DAVE001', { groups: ['sre'] }),
      ok: true,
    },
    {
      name: 'verified, not listed, not in a group',
      action: 'abort',
      identity: oidc('mallory@example.com', { groups: ['dev'] }),
      ok: false,
      reason:
        /^mallory@example.com \(verified by oidc\) may not abort: spec.fledge.approvers.abort allows slack:U0SRE0001, group:sre$/,
    },
    {
      name: 'a group entry never matches an actor named like it',
      action: 'abort',
      identity: oidc('group:sre'),
      ok: false,
    },
    {
      name: 'self-declared actor on a verified-only list',
      action: 'approve',
      gate: 'confirm-promotion',
      actor: 'alice@example.com',
      ok: false,
      reason: /^approve confirm-promotion needs a verified identity .*"alice@example.com" is self-declared/,
    },
    {
      name: 'resume is governed by the pause list',
      action: 'resume',
      identity: oidc('bob@example.com'),
      ok: true,
    },
    {
      name: 'resume by someone not on the pause list',
      action: 'resume',
      identity: oidc('alice@example.com'),
      ok: false,
      reason: /may not resume: spec.fledge.approvers.pause allows bob@example.com/,
    },
    {
      name: 'pending verification (update validator): decided after verification',
      action: 'abort',
      actor: 'whoever',
      pending: true,
      ok: true,
    },
    {
      name: 'self-declared list: a listed actor matches',
      plan: { ...approvers, identity: 'self-declared' },
      action: 'pause',
      actor: 'bob@example.com',
      ok: true,
    },
    {
      name: 'self-declared list: an unlisted actor does not',
      plan: { ...approvers, identity: 'self-declared' },
      action: 'pause',
      actor: 'eve@example.com',
      ok: false,
      reason: /^eve@example.com may not pause/,
    },
    {
      name: 'self-declared list: groups match verified identities only',
      plan: { ...approvers, identity: 'self-declared' },
      action: 'abort',
      actor: 'sre',
      ok: false,
      reason: /groups match verified identities only/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = 'plan' in c ? c.plan : approvers;
      const r = checkApprover(plan, c.action, c.gate, {
        actor: c.actor ?? c.identity?.actor ?? 'someone',
        ...(c.identity ? { identity: c.identity } : {}),
        ...(c.pending ? { pendingVerification: true } : {}),
      });
      expect(r.ok).toBe(c.ok);
      if (c.reason) expect(!r.ok && r.reason).toMatch(c.reason);
    });
  }
});

describe('checkOperatorText', () => {
  const cases: Array<[string, OperatorActionName, unknown, unknown, RegExp | null]> = [
    ['a plain approve', 'approve', 'alice', '', null],
    ['abort needs a reason', 'abort', 'alice', '', /a reason is required for abort/],
    [
      'promote needs a reason (blank is empty)',
      'promote',
      'alice',
      '   ',
      /a reason is required for promote/,
    ],
    ['abort with a reason', 'abort', 'alice', 'errors in prod', null],
    ['empty actor', 'pause', ' ', 'x', /actor is required/],
    ['actor of 200 characters', 'pause', 'a'.repeat(200), '', null],
    [
      'actor of 201 characters',
      'pause',
      'a'.repeat(201),
      '',
      /actor is too long \(201 characters; at most 200\)/,
    ],
    ['reason of 1000 characters', 'abort', 'a', 'r'.repeat(1000), null],
    ['reason of 1001 characters', 'abort', 'a', 'r'.repeat(1001), /reason is too long/],
    ['escape in the actor', 'pause', 'al\x1b[31mice', '', /actor contains control characters/],
    ['newline in the reason', 'abort', 'alice', 'a\nb', /reason contains control characters/],
    ['bidi override in the reason', 'abort', 'alice', 'abc\u202edef', /reason contains control characters/],
    ['a reason that is not a string', 'pause', 'alice', 5, /reason must be a string/],
  ];
  for (const [name, action, actor, reason, expected] of cases) {
    it(name, () => {
      const r = checkOperatorText(action, actor, reason);
      if (expected === null) expect(r).toEqual({ ok: true });
      else expect(!r.ok && r.reason).toMatch(expected);
    });
  }
});

describe('checkIdentityTokenShape', () => {
  it('accepts a compact JWS, refuses anything else', () => {
    expect(checkIdentityTokenShape('eyJ.eyJ.sig').ok).toBe(true);
    expect(checkIdentityTokenShape('not a jwt').ok).toBe(false);
    expect(checkIdentityTokenShape(42).ok).toBe(false);
    expect(checkIdentityTokenShape(`a.${'b'.repeat(16_400)}.c`).ok).toBe(false);
  });
});

describe('validateOperatorAction with approvers and strict checks', () => {
  const plan = makePlan({
    strategy: canary([25, 50]),
    manualGates: ['confirm-promotion'],
    approvers,
    operatorChecks: 'strict',
  });
  const running = (): Scenario => {
    const s = new Scenario(plan);
    s.runUntil((x) => x.state.canaryWeight === 25 && x.next?.type === 'wait');
    return s;
  };

  it('an abort with an empty reason is rejected (strict), with one is judged by the approvers', () => {
    const s = running();
    const base = { action: 'abort' as const, actor: 'x', identity: slack('slack:U0SRE0001') };
    expect(validateOperatorAction(plan, s.state, { ...base, reason: ' ' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/a reason is required for abort/),
    });
    expect(validateOperatorAction(plan, s.state, { ...base, reason: 'bad canary' })).toEqual({ ok: true });
  });

  it('without strict checks (histories from before the patch) an empty abort reason passes as before', () => {
    const { operatorChecks: _strict, approvers: _a, ...old } = plan;
    const s = running();
    expect(validateOperatorAction(old, s.state, { action: 'abort', actor: 'x', reason: '' })).toEqual({
      ok: true,
    });
  });

  it('a rejection from identity verification is the verdict', () => {
    const s = running();
    expect(
      validateOperatorAction(plan, s.state, {
        action: 'pause',
        actor: 'bob',
        reason: '',
        rejection: 'identity not verified: token expired',
      }),
    ).toEqual({ ok: false, reason: 'identity not verified: token expired' });
  });

  it('a signal from an unauthorised actor is logged as rejected and never acted on', () => {
    const s = running();
    const before = s.state.canaryWeight;
    const t = s.feed({
      type: 'operator',
      action: 'abort',
      actor: 'mallory@example.com',
      reason: 'because',
      identity: oidc('mallory@example.com'),
    });
    expect(t.effects.filter((e) => e.type === 'setRoutes')).toEqual([]);
    expect(s.state.canaryWeight).toBe(before);
    expect(s.state.finishing).toBeNull();
    expect(s.state.operatorLog.at(-1)).toMatchObject({
      action: 'abort',
      actor: 'mallory@example.com',
      accepted: false,
      verified: 'oidc',
      rejectionReason: expect.stringMatching(/may not abort/),
    });
  });

  it('a verified approver acts; the log records how the actor was verified and what was claimed', () => {
    const s = running();
    s.feed({
      type: 'operator',
      action: 'abort',
      actor: 'slack:U0SRE0001',
      claimedActor: 'someone-else',
      reason: 'bad canary',
      identity: slack('slack:U0SRE0001'),
    });
    expect(s.state.finishing?.outcome).toBe('Aborted');
    expect(s.state.operatorLog.at(-1)).toMatchObject({
      actor: 'slack:U0SRE0001',
      claimedActor: 'someone-else',
      verified: 'slack',
      accepted: true,
    });
  });
});

describe('spec.fledge.approvers', () => {
  it('compiles lists (deduplicated) and the identity mode (default verified)', () => {
    const spec = approversSchema.parse({
      abort: ['group:sre', 'group:sre', 'a@b'],
      'confirm-rollout': ['x'],
    });
    expect(compileApprovers(spec)).toEqual({
      rules: { abort: ['group:sre', 'a@b'], 'confirm-rollout': ['x'] },
      identity: 'verified',
    });
  });

  it('refuses empty lists, unknown keys, bad groups and control characters', () => {
    expect(approversSchema.safeParse({ abort: [] }).success).toBe(false);
    expect(approversSchema.safeParse({ resume: ['a'] }).success).toBe(false);
    expect(approversSchema.safeParse({ abort: ['group:'] }).success).toBe(false);
    expect(approversSchema.safeParse({ abort: ['a\u202eb'] }).success).toBe(false);
    expect(approversSchema.safeParse({ abort: ['a'], identity: 'trust-me' }).success).toBe(false);
  });
});
