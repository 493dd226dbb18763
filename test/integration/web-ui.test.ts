// The Temporal Web UI's view of a release, in a real browser: headless Debian Chromium (installed by
// `scripts/install-tools.sh chromium`, part of what `npm test` installs) against the local dev server's UI.
// A release is held mid-analysis (10 min interval); the test finds it with a search-attribute query, opens it and
// checks the static summary, the current-details status table, the search attributes and the activity/timer
// summaries in the event history. Screenshots are kept in test-artifacts/web-ui/ (also one on failure).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import type { ReleaseResult } from '../../src/domain/result.js';
import type { ReleaseStatus } from '../../src/domain/status.js';
import { submitRelease } from '../../src/starter.js';
import { abortSignal, statusQuery } from '../../src/workflows/messages.js';
import { staticSummary } from '../../src/workflows/visibility.js';
import { eventually, stack } from '../support/stack.js';
import { canaryYaml, startE2E, targetNamespace, virtualServiceWeights, type E2E } from '../e2e/support.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/web-ui/', import.meta.url));
const UI_WAIT_MS = 30_000;

const v1 = 'ghcr.io/stefanprodan/podinfo:6.5.0';
const v2 = 'ghcr.io/stefanprodan/podinfo:6.5.1';

let e: E2E | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  rmSync(ARTIFACTS, { recursive: true, force: true }); // only this run's screenshots
  mkdirSync(ARTIFACTS, { recursive: true });
  e = await startE2E('webui');
});

// Debian's chromium, headless. CI installs it (npm test → scripts/setup.sh → install-tools.sh target `test`),
// so its absence fails the test instead of skipping it.
async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Debian chromium not found at ${CHROMIUM}: the Web UI test needs it. Install it with ` +
        '`bash scripts/install-tools.sh chromium` (apt-get install chromium; `npm test` does this itself).',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
}

afterAll(async () => {
  await browser?.close();
  await e?.stop();
});

const shot = (page: Page, name: string) =>
  page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });

/** Whitespace-normalised text of a locator (polled by expect.poll until it matches). */
const text = async (l: Locator): Promise<string> =>
  (await l.innerText({ timeout: 5_000 }).catch(() => '')).replace(/\s+/g, ' ').trim();

/**
 * Waits for `locator` on `url`, reloading now and then: the workflow list reads the visibility store, which may
 * trail the workflow by a moment.
 */
async function gotoUntilVisible(
  page: Page,
  url: string,
  locator: Locator,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await page.goto(url);
  for (;;) {
    try {
      await locator.waitFor({ state: 'visible', timeout: 5_000 });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await page.reload();
    }
  }
}

/** Opens a workflow page tab by its label (Timeline, Event History, User Metadata, Search Attributes, …). */
async function openTab(page: Page, label: string, path: string): Promise<void> {
  await page.getByRole('tab', { name: label }).first().click();
  await page.waitForURL((u) => u.pathname.endsWith(`/${path}`), { timeout: UI_WAIT_MS });
}

describe('Temporal Web UI (headless Chromium)', () => {
  it('finds a running release by search attribute and shows its summary, status table and step summaries', async () => {
    browser = await launchChromium();
    if (!e) throw new Error('set-up failed');
    const env = e;
    const ns = await targetNamespace(env, 'e2e-webui', v1);
    const target = `${ns.name}/podinfo`;
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(UI_WAIT_MS);
    let releaseId: string | undefined;
    let ended = false;
    try {
      // A release that waits 10 minutes for its next analysis after the first step: 75/25.
      const yaml = canaryYaml(ns.name, {
        analysis: '    interval: 10m\n    threshold: 2\n    stepWeight: 25\n    maxWeight: 50',
      });
      const sub = await submitRelease(env.client, env.cfg, {
        yaml,
        images: { app: v2 },
        initiator: 'web-ui-test',
      });
      releaseId = sub.workflowId;
      const h = env.client.workflow.getHandle(releaseId);
      await eventually(
        'the release at 25 % canary, waiting for its next analysis',
        async () => {
          const st = (await h.query(statusQuery)) as ReleaseStatus;
          return st.phase === 'Progressing' && st.weights.canary === 25 ? st : undefined;
        },
        { timeoutMs: 60_000 },
      );

      // ── the workflow list, filtered by a search-attribute query ─────────────────────────────────────────
      // The lane carries FledgeTarget too; FledgePhase (upserted by the release) leaves only the release.
      const ui = stack().urls.temporalUi.replace(/\/+$/, '');
      const query = `FledgeTarget="${target}" AND FledgePhase="Progressing"`;
      const listUrl = `${ui}/namespaces/${encodeURIComponent(env.cfg.temporal.namespace)}/workflows?query=${encodeURIComponent(query)}`;
      const row = page.getByRole('link', { name: releaseId, exact: true });
      await gotoUntilVisible(page, listUrl, row);
      await shot(page, '1-workflows-query');
      expect(await row.count()).toBe(1);
      expect(await page.getByRole('link', { name: `fledge-lane/${target}`, exact: true }).count()).toBe(0);

      // ── the release's page: static summary and current details (User Metadata tab in UI 2.x) ──────────
      await row.click();
      await page.waitForURL((u) => decodeURIComponent(u.pathname).includes(`/workflows/${releaseId}/`));
      await openTab(page, 'User Metadata', 'user-metadata');
      const summary = page.frameLocator('iframe#user-metadata-summary').locator('body');
      await expect
        .poll(() => text(summary), { timeout: UI_WAIT_MS, interval: 500 })
        .toBe(staticSummary({ namespace: ns.name, name: 'podinfo' }, { app: v2 }, 'canary'));
      // The current details are the status table in Markdown, rendered as an HTML table.
      const details = page.frameLocator('iframe#user-metadata-current-details');
      const detailRows = async (): Promise<Record<string, string>> =>
        Object.fromEntries(
          (await details.locator('tr').allInnerTexts())
            .map((r) => r.split('\t').map((c) => c.replace(/\s+/g, ' ').trim()))
            .filter((cells) => cells.length >= 2 && cells[0])
            .map((cells) => [cells[0], cells[1]]),
        );
      await expect.poll(detailRows, { timeout: UI_WAIT_MS, interval: 500 }).toMatchObject({
        Phase: 'Progressing',
        Traffic: 'primary 75% · canary 25%',
        'Failed checks': '0/2',
        'Waiting for': expect.stringMatching(/^next analysis at /),
      });
      // The static details: the release's plan (strategy, checks, who started it).
      const planRows = async (): Promise<Record<string, string>> =>
        Object.fromEntries(
          (await page.frameLocator('iframe#user-metadata-details').locator('tr').allInnerTexts())
            .map((r) => r.split('\t').map((c) => c.replace(/\s+/g, ' ').trim()))
            .filter((cells) => cells.length >= 2 && cells[0])
            .map((cells) => [cells[0], cells[1]]),
        );
      await expect.poll(planRows, { timeout: UI_WAIT_MS, interval: 500 }).toMatchObject({
        Strategy: expect.stringMatching(/^canary: weights 25 → 50 % \(every /),
        Metrics: 'request-success-rate (min 99)',
        'Rollback after': '2 failed check(s)',
      });
      await shot(page, '2-user-metadata');

      // ── search attributes as the release keeps them ──────────────────────────────────────────────────────
      await openTab(page, 'Search Attributes', 'search-attributes');
      const attrs = page.locator('main');
      await expect
        .poll(() => text(attrs), { timeout: UI_WAIT_MS, interval: 500 })
        .toContain(`"FledgeTarget": "${target}"`);
      const shown = await text(attrs);
      for (const kv of [
        `"FledgeNamespace": "${ns.name}"`,
        '"FledgeImageTag": "6.5.1"',
        '"FledgePhase": "Progressing"',
        '"FledgeWeight": 25',
        '"FledgeInitiator": "web-ui-test"',
      ]) {
        expect(shown).toContain(kv);
      }
      await shot(page, '3-search-attributes');

      // ── event history: activity, local-activity and timer summaries ─────────────────────────────────────
      await openTab(page, 'Event History', 'history');
      const event = (type: string, summaryText: string | RegExp): Locator =>
        page
          .locator('tr[data-testid="event-summary-row"]')
          .filter({ hasText: type })
          .filter({ hasText: summaryText })
          .first();
      await event('Timer Started', /analysis-interval \(\d+ s\)/).waitFor();
      await event('runHooks', 'pre-rollout hooks (acceptance-test)').waitFor();
      await event('setRoutes', 'route 75/25').waitFor();
      await event('initializeRelease', 'initialise: primary, services, routes at 100% primary').waitFor();
      await shot(page, '4-event-history');

      // ── done: abort the release; traffic goes back to the primary ───────────────────────────────────────
      await h.signal(abortSignal, { actor: 'web-ui-test', reason: 'Web UI checked' });
      const result = (await h.result()) as ReleaseResult;
      ended = true;
      expect(result.outcome).toBe('Aborted');
      expect(await virtualServiceWeights(env.kube, ns.name)).toEqual({
        'podinfo-primary': 100,
        'podinfo-canary': 0,
      });
    } catch (err) {
      await shot(page, 'failure').catch(() => undefined);
      throw err;
    } finally {
      if (releaseId && !ended) {
        const h = env.client.workflow.getHandle(releaseId);
        await h.signal(abortSignal, { actor: 'web-ui-test', reason: 'test failed' }).catch(() => undefined);
        await Promise.race([
          h.result().catch(() => undefined),
          new Promise((r) => setTimeout(r, 30_000).unref()),
        ]);
      }
      await page.close();
      await ns.cleanup();
    }
  }, 240_000);
});
