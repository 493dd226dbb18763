import { describe, expect, it } from 'vitest';
import {
  formatSpecErrors,
  parseCanaryYaml,
  validateCanaryBundle,
  type SpecError,
} from '../../../src/domain/manifest/index.js';
import { readFixture, yamlDocuments } from './fixtures.js';

const canary = `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  targetRef:
    kind: Deployment
    name: podinfo
  service:
    port: 9898
  analysis:
    interval: 1m
    stepWeight: 10
    maxWeight: 50
`;

describe('several errors at once, with lines', () => {
  const text = readFixture('several-errors.yaml');
  const result = parseCanaryYaml(text, 'several-errors.yaml');

  it('reports every problem of the file in one go, in file order', () => {
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const e = (line: number, column: number, path: string, message: string): SpecError => ({
      path,
      line,
      column,
      message,
    });
    expect(result.errors).toEqual([
      e(
        6,
        3,
        'spec.provider',
        'provider `linkerd` is a Flagger router Fledge does not support yet; supported: istio, gatewayapi:v1, kubernetes',
      ),
      e(8, 5, 'spec.targetRef.kind', 'kind DaemonSet is not supported yet by Fledge (supported: Deployment)'),
      e(11, 5, 'spec.service.port', 'expected number, got string'),
      // `portDiscovery: true` (line 12) and `sessionAffinity` (line 18) are accepted since the drop-in work.
      e(
        13,
        3,
        'spec.analysis.stepWeight',
        'missing required field: a canary needs `stepWeight` (with `maxWeight`) or `stepWeights`; for blue/green set `iterations`',
      ),
      e(
        14,
        5,
        'spec.analysis.interval',
        'invalid duration "1x": unknown unit "x" (valid units: ns, us, ms, s, m, h)',
      ),
      e(15, 5, 'spec.analysis.threshold', 'must be >= 1, got 0'),
      e(16, 5, 'spec.analysis.stepweight', 'unknown field `stepweight` (did you mean `stepWeight`?)'),
      e(17, 5, 'spec.analysis.maxWeight', 'must be <= 100, got 150'),
      e(
        25,
        11,
        'spec.analysis.metrics[1].templateRef.name',
        'MetricTemplate `default/latency` not found: put it in the same file (multi-document YAML)',
      ),
      e(26, 9, 'spec.analysis.metrics[1].thresholdRange', '`thresholdRange` needs `min` and/or `max`'),
      e(
        29,
        9,
        'spec.analysis.webhooks[0].url',
        'expected an http(s) URL such as http://flagger-loadtester.test/, got "flagger-loadtester.test"',
      ),
      e(
        30,
        9,
        'spec.analysis.webhooks[0].timeout',
        'expected a duration string such as "30s", "1m" or "1m30s", got number',
      ),
      e(31, 9, 'spec.analysis.webhooks[1].name', 'duplicate webhook name `load-test` (also webhooks[0])'),
      e(
        33,
        9,
        'spec.analysis.webhooks[1].disableTLS',
        'not supported yet by Fledge (TLS verification cannot be turned off per webhook)',
      ),
      e(35, 36, 'spec.fledge.manualGates[1]', 'gate "confirm-rollout" is listed twice'),
      e(36, 5, 'spec.fledge.supersede', 'expected one of "supersede", "queue", got string "later"'),
    ]);
  });

  it('formats as file:line:column path: message', () => {
    if (result.ok) return;
    const lines = formatSpecErrors(result.errors, 'canary.yaml').split('\n');
    expect(lines[2]).toBe('canary.yaml:11:5 spec.service.port: expected number, got string');
    expect(lines).toHaveLength(16);
    expect(formatSpecErrors([{ path: 'images.web', message: 'bad' }], 'canary.yaml')).toBe(
      'canary.yaml: images.web: bad',
    );
    expect(formatSpecErrors([{ path: '', message: 'no Canary found' }])).toBe('no Canary found');
  });

  it('validateCanaryBundle gives the same errors without positions', () => {
    const fromJson = validateCanaryBundle(yamlDocuments(text));
    expect(fromJson.ok).toBe(false);
    if (fromJson.ok || result.ok) return;
    const strip = (errors: SpecError[]) => errors.map(({ path, message }) => ({ path, message }));
    expect(strip(fromJson.errors).sort((a, b) => a.path.localeCompare(b.path))).toEqual(
      strip(result.errors).sort((a, b) => a.path.localeCompare(b.path)),
    );
  });
});

describe('YAML syntax and documents', () => {
  it('reports YAML syntax errors (all of them) with positions', () => {
    const text =
      'apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: a\n  name: b\nspec:\n  x: [1, 2\n---\nfoo: : bar\n';
    const result = parseCanaryYaml(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toEqual({
      path: '',
      line: 5,
      column: 3,
      message: 'YAML syntax error: duplicate key "name" (first at line 4, column 3): map keys must be unique',
    });
    expect(result.errors.length).toBeGreaterThanOrEqual(3);
    expect(
      result.errors.every((e) => e.message.startsWith('YAML syntax error: ') && e.line !== undefined),
    ).toBe(true);
  });

  it('an empty file has no Canary', () => {
    expect(parseCanaryYaml('')).toEqual({
      ok: false,
      errors: [
        {
          path: '',
          message: 'no Canary found: a release bundle needs exactly one `kind: Canary` (flagger.app/v1beta1)',
        },
      ],
    });
    expect(validateCanaryBundle([])).toEqual({
      ok: false,
      errors: [
        {
          path: '',
          message: 'no Canary found: a release bundle needs exactly one `kind: Canary` (flagger.app/v1beta1)',
        },
      ],
    });
  });

  it('skips empty documents; prefixes paths with doc[i] when there are several', () => {
    const text = `---\n# only a comment\n---\n${canary}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n---\n${canary.replace('podinfo\n  namespace', 'other\n  namespace')}---\n`;
    const result = parseCanaryYaml(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      {
        path: 'doc[1].kind',
        line: 21,
        column: 1,
        message:
          'kind `Deployment` (apps/v1) is not part of a release bundle; expected Canary, MetricTemplate or AlertProvider (flagger.app/v1beta1); keep other manifests in another file',
      },
      {
        path: 'doc[2].kind',
        line: 26,
        column: 1,
        message: 'a second Canary (the first is doc[0]): a release bundle has exactly one Canary',
      },
    ]);
  });

  it('rejects duplicate MetricTemplates and a document that is not an object', () => {
    const template =
      'apiVersion: flagger.app/v1beta1\nkind: MetricTemplate\nmetadata:\n  name: t\n  namespace: test\nspec:\n  query: up\n';
    const result = parseCanaryYaml(`${canary}---\n${template}---\n${template}---\n- just\n- a list\n`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      {
        path: 'doc[2].metadata.name',
        line: 28,
        column: 3,
        message: 'duplicate MetricTemplate `test/t` (also doc[1])',
      },
      {
        path: 'doc[3]',
        line: 33,
        column: 1,
        message: 'expected a Kubernetes manifest (an object with apiVersion and kind), got array',
      },
    ]);
  });

  it('resolves anchors, aliases and merge keys', () => {
    const text = `${canary}    metrics:\n      - &sr\n        name: request-success-rate\n        thresholdRange: {min: 99}\n      - <<: *sr\n        name: request-duration\n        thresholdRange: {max: 500}\n`;
    const result = parseCanaryYaml(text);
    expect(
      result.ok ? result.value.canary.spec.analysis?.metrics?.map((m) => m.name) : result.errors,
    ).toEqual(['request-success-rate', 'request-duration']);
  });

  it('keeps the documents as plain JSON for the workflow input', () => {
    const result = parseCanaryYaml(canary);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(JSON.parse(JSON.stringify(result.value.documents))).toEqual(yamlDocuments(canary));
    expect(validateCanaryBundle(result.value.documents)).toEqual(result);
  });
});

describe('validateCanaryBundle on untrusted input', () => {
  it('rejects a non-array', () => {
    expect(validateCanaryBundle({ kind: 'Canary' } as unknown as unknown[])).toEqual({
      ok: false,
      errors: [{ path: '', message: 'expected a list of documents, got object' }],
    });
  });
});
