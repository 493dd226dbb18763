// The per-target lane: a workflow (ID `fledge-lane/<namespace>/<name>`) that serialises releases of
// one target on the Temporal server. Starters reach it with update-with-start (`submit`), so two CI jobs racing
// for one target can never both move its traffic. It runs each release as a child workflow whose ID is the
// release ID; a newer release supersedes the running one (signal → traffic back to primary, outcome
// Superseded; never terminate: that would skip cleanup) or queues behind it, per the spec's policy. It ends when it
// has nothing left to run (see endWhenIdlePatch); the next submit starts a new run under the same ID.
import {
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  getExternalWorkflowHandle,
  log,
  patched,
  setHandler,
  startChild,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import { checkCompiledReleaseInput, isLegacyReleaseInput } from '../domain/compiled.js';
import type { ReleaseResult } from '../domain/result.js';
import { supersedeSignal } from './messages.js';
import type { ReleaseInput, releaseWorkflow } from './release.js';
import { fledgeImageTag, fledgeInitiator, fledgeNamespace, fledgeTarget } from './search-attributes.js';

export interface SubmitRequest {
  releaseId: string;
  /**
   * The release workflow's input, forwarded unchanged: the compiled-release envelope (src/domain/compiled.ts), or a
   * legacy `{ documents, … }` input from a client of the previous version (still run; remove in the next version).
   */
  input: ReleaseInput;
  policy: 'supersede' | 'queue';
  target: { namespace: string; name: string };
  imageTag: string;
  initiator: string;
  summary: string;
  /** The Web UI's static details (Markdown); absent in requests from older starters. */
  details?: string;
  /** `fledge retry`: start a new run even if this release ID already ran. */
  retry?: boolean;
}

export type Disposition = 'started' | 'attached' | 'queued' | 'superseding';

export interface SubmitResponse {
  workflowId: string;
  disposition: Disposition;
  /** The release being superseded, when disposition is `superseding`. */
  supersedes?: string;
  /** Releases ahead of this one, when queued. */
  position?: number;
}

export interface LaneState {
  current: string | null;
  queue: string[];
  recent: Array<{ releaseId: string; outcome: string }>;
  completed: number;
}

export const submitUpdate = defineUpdate<SubmitResponse, [SubmitRequest]>('submit');
export const laneStatusQuery = defineQuery<LaneState>('laneStatus');

export const laneWorkflowId = (namespace: string, name: string): string => `fledge-lane/${namespace}/${name}`;

const maxRecent = 50;
/**
 * Patch: the lane ends once it has nothing to run (its release ended, nothing queued) instead of waiting for the
 * next submit: an open lane stays in every worker's workflow cache (memory, and a workflow to restore after a
 * restart) for nothing. The next `submit` (update-with-start) starts a new run under the same ID; an update that
 * arrives while the lane is completing keeps it open (the server refuses to complete a workflow with an admitted
 * update, and a new workflow task delivers it). Lanes recorded before the patch keep waiting, as they did.
 */
const endWhenIdlePatch = 'lane-ends-when-idle';

export async function fledgeLane(
  args: { carried?: { recent: LaneState['recent']; completed: number } } = {},
): Promise<void> {
  const queue: SubmitRequest[] = [];
  let current: SubmitRequest | null = null;
  let started = false; // current child started
  const launched = new Set<string>(); // release IDs whose start was attempted (bounded below)
  const recent: LaneState['recent'] = args.carried?.recent ?? [];
  let completed = args.carried?.completed ?? 0;

  setHandler(laneStatusQuery, () => ({
    current: current?.releaseId ?? null,
    queue: queue.map((q) => q.releaseId),
    recent,
    completed,
  }));

  setHandler(
    submitUpdate,
    async (req: SubmitRequest): Promise<SubmitResponse> => {
      const id = req.releaseId;
      if (current?.releaseId === id) return { workflowId: id, disposition: 'attached' };
      if (queue.some((q) => q.releaseId === id)) return { workflowId: id, disposition: 'attached' };
      if (!req.retry && recent.some((r) => r.releaseId === id))
        return { workflowId: id, disposition: 'attached' };
      if (current && req.policy === 'supersede') {
        // Newest wins: releases still waiting in the queue are dropped without running.
        for (const dropped of queue.splice(0, queue.length))
          recent.push({ releaseId: dropped.releaseId, outcome: 'Superseded' });
        queue.push(req);
        const victim = current.releaseId;
        if (started) {
          // The running release may have ended in this very workflow task (its completion not yet seen by the
          // loop): then there is nothing to supersede and the queued release simply starts next.
          await getExternalWorkflowHandle(victim)
            .signal(supersedeSignal, { by: id })
            .catch((err: unknown) =>
              log.info('supersede signal not delivered; the release had already ended', {
                victim,
                error: String(err),
              }),
            );
        }
        return { workflowId: id, disposition: 'superseding', supersedes: victim };
      }
      queue.push(req);
      if (current) return { workflowId: id, disposition: 'queued', position: queue.length };
      // Answer once the child exists, so the caller can attach to it right away.
      await condition(() => launched.has(id));
      return { workflowId: id, disposition: 'started' };
    },
    {
      validator: (req: SubmitRequest) => {
        if (!req || typeof req.releaseId !== 'string' || !req.releaseId.startsWith('fledge/'))
          throw new Error('releaseId must start with fledge/');
        if (req.policy !== 'supersede' && req.policy !== 'queue')
          throw new Error('policy must be supersede or queue');
        // The release would fail at once on such an input: refused before anything is recorded. (Validators do not
        // run on replay, so this check may change between versions.)
        if (!isLegacyReleaseInput(req.input)) {
          const checked = checkCompiledReleaseInput(req.input);
          if (!checked.ok) throw new Error(`${checked.type}: ${checked.message}`);
        }
      },
    },
  );

  for (;;) {
    await condition(() => queue.length > 0 || (workflowInfo().continueAsNewSuggested && current === null));
    if (queue.length === 0) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof fledgeLane>({ carried: { recent: recent.slice(-maxRecent), completed } });
    }
    const req = queue.shift();
    if (!req) continue;
    current = req;
    started = false;
    let outcome = 'Failed';
    try {
      // By type name: the lane does not load the release's module (src/workflows/index.ts).
      const child = await startChild<typeof releaseWorkflow>('releaseWorkflow', {
        workflowId: req.releaseId,
        args: [req.input],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Generous: a worker's first task pays for creating the workflow sandbox, slow on a loaded node.
        workflowTaskTimeout: '30 seconds',
        workflowIdReusePolicy: req.retry
          ? WorkflowIdReusePolicy.ALLOW_DUPLICATE
          : WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: req.summary,
        ...(req.details ? { staticDetails: req.details } : {}),
        typedSearchAttributes: [
          { key: fledgeTarget, value: `${req.target.namespace}/${req.target.name}` },
          { key: fledgeNamespace, value: req.target.namespace },
          { key: fledgeImageTag, value: req.imageTag },
          { key: fledgeInitiator, value: req.initiator },
        ],
      });
      started = true;
      launched.add(req.releaseId);
      // A supersede that arrived while the child was starting is delivered now.
      if (queue.length > 0 && queue[0]?.policy === 'supersede')
        await child.signal(supersedeSignal, { by: queue[0].releaseId });
      const result: ReleaseResult = await child.result();
      outcome = result.outcome;
    } catch (err) {
      if (
        err instanceof ApplicationFailure ||
        (err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')
      ) {
        log.warn('release did not run to a result', { releaseId: req.releaseId, error: String(err) });
      } else {
        log.warn('release failed', { releaseId: req.releaseId, error: String(err) });
      }
      started = true;
      launched.add(req.releaseId);
    }
    if (launched.size > maxRecent * 2) launched.delete(launched.values().next().value as string);
    recent.push({ releaseId: req.releaseId, outcome });
    if (recent.length > maxRecent) recent.splice(0, recent.length - maxRecent);
    completed++;
    current = null;
    if (queue.length === 0 && patched(endWhenIdlePatch)) {
      await condition(allHandlersFinished);
      if (queue.length === 0) return;
    }
  }
}
