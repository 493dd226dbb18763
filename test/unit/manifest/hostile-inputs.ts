// Hostile manifests for the hostile-input corpus (hostile-corpus.test.ts) and the worst-case measurements run in a
// child process (test/support/measure-spec.ts): generated, so the corpus needs no large fixture files.

/** A valid Canary: service fields, match rules, metadata and a webhook to aim edits at. */
export const base = `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
  labels:
    app: podinfo
  annotations:
    example.com/owner: team-a
spec:
  provider: istio
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 9898
    targetPort: http
    portName: http
    match:
      - uri:
          prefix: /
        headers:
          x-canary:
            regex: "^(always|sometimes)$"
    apex:
      labels:
        tier: web
  analysis:
    interval: 2s
    threshold: 2
    maxWeight: 50
    stepWeight: 10
    metrics:
      - name: request-success-rate
        thresholdRange:
          min: 99
        interval: 1m
    webhooks:
      - name: load-test
        url: http://flagger-loadtester.test/
        metadata:
          cmd: "hey -z 1m http://podinfo-canary.test:9898/"
`;

/** `base` with `from` (which must occur) replaced. */
export function edit(from: string, to: string, text: string = base): string {
  if (!text.includes(from)) throw new Error(`edit: ${JSON.stringify(from)} not in the base spec`);
  return text.replace(from, to);
}

/** `base` with YAML appended under the Canary's `status` (an ignored field: only the YAML front end sees it). */
export const withStatus = (yaml: string): string => `${base}status:\n${yaml}`;

const repeat = (n: number, f: (i: number) => string): string =>
  Array.from({ length: n }, (_, i) => f(i)).join('');

const MiB = 1024 * 1024;

/**
 * The worst inputs, by class: each is the largest or most expensive of its kind, run under measurement (time,
 * peak RSS) in a fresh process. `accepted` ones pass the YAML front end (just under a limit).
 */
export const worstCases: Record<string, { input: () => string; accepted: boolean }> = {
  // Size: one byte over the 1 MiB limit (refused before parsing).
  'size-over-limit': { input: () => withStatus(`  x: "${'a'.repeat(MiB)}"\n`), accepted: false },
  // Size: a 1 MiB string just under the limit (accepted: the YAML is tiny in nodes).
  'size-at-limit': {
    input: () => withStatus(`  x: "${'a'.repeat(MiB - base.length - 32)}"\n`),
    accepted: true,
  },
  // Lines: a megabyte of comment lines (refused by the count before parsing).
  'comment-flood': { input: () => `${base}${'#\n'.repeat(MiB / 2 - base.length)}`, accepted: false },
  // Documents: a megabyte of `---` (refused by the count before parsing).
  'document-flood': { input: () => `${base}${'---\n'.repeat(MiB / 4 - base.length)}`, accepted: false },
  // Flow items: half a million in one line (refused by the count before parsing).
  'flow-flood': { input: () => withStatus(`  x: [${'0,'.repeat(MiB / 2 - 1000)}0]\n`), accepted: false },
  // Nodes: the most keys the count lets through (accepted: 24,000 keys in one map, linear duplicate check).
  'many-keys-accepted': { input: () => withStatus(repeat(24_000, (i) => `  k${i}: 0\n`)), accepted: true },
  // Nodes: 50,000 keys in one map (the review's 55 s case; refused by the count now).
  'many-keys-50k': { input: () => withStatus(repeat(50_000, (i) => `  k${i}: 0\n`)), accepted: false },
  // Unknown fields: 24,000 of them under spec.analysis (every one an error with a position: linear lookup).
  'many-unknown-fields': {
    input: () => edit('    interval: 2s\n', `    interval: 2s\n${repeat(24_000, (i) => `    u${i}: 0\n`)}`),
    accepted: true,
  },
  // Depth: 10,000 nested block sequences on one line (refused on the syntax tree before composing).
  'deep-block-seq': { input: () => withStatus(`  - ${'- '.repeat(10_000)}x\n`), accepted: false },
  // Depth: 10,000 nested flow sequences.
  'deep-flow-seq': {
    input: () => withStatus(`  x: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`),
    accepted: false,
  },
  // Aliases: billion laughs (9 levels of 10 aliases).
  'billion-laughs': {
    input: () =>
      withStatus(
        `  a0: &a0 ["lol"]\n${repeat(9, (i) => `  a${i + 1}: &a${i + 1} [${repeat(10, () => `*a${i},`).slice(0, -1)}]\n`)}`,
      ),
    accepted: false,
  },
  // Aliases: fan-out under yaml's alias-count limit: one 5,000-item list referenced 90 times.
  'alias-fan-out': {
    input: () =>
      withStatus(
        `  big: &big [${repeat(5000, () => '"xxxxxxxxxx",').slice(0, -1)}]\n${repeat(90, (i) => `  r${i}: *big\n`)}`,
      ),
    accepted: false,
  },
  // Aliases: merge-key fan-out (each level merges the previous one twice: exponential work in a naive toJS).
  'merge-fan-out': {
    input: () =>
      withStatus(
        `  m0: &m0 {k: v}\n${repeat(40, (i) => `  m${i + 1}: &m${i + 1}\n    <<: [*m${i}, *m${i}]\n    k${i}: v\n`)}`,
      ),
    accepted: false,
  },
  // Aliases: the most expansion the budget lets through (accepted: ~48,000 nodes after expansion).
  'alias-expansion-accepted': {
    input: () =>
      withStatus(
        `  big: &big [${repeat(1000, () => '1,').slice(0, -1)}]\n${repeat(47, (i) => `  r${i}: *big\n`)}`,
      ),
    accepted: true,
  },
};
