// Measures one worst-case hostile input in a fresh process (so its peak RSS is its own):
//   node --import tsx test/support/measure-spec.ts <case>
// prints {case, bytes, ms, baseRssMb, peakRssMb, ok, error}: the time of parseCanaryYaml plus the workflow-side
// validation of the resulting documents, and the process's peak RSS before and after.
import { parseCanaryYaml, validateCanaryBundle } from '../../src/domain/manifest/index.js';
import { worstCases } from '../unit/manifest/hostile-inputs.js';

const name = process.argv[2] ?? '';
const hostile = worstCases[name];
if (!hostile) throw new Error(`unknown case ${name}; known: ${Object.keys(worstCases).join(', ')}`);
const input = hostile.input();
const mb = (kb: number): number => Math.round(kb / 1024);
const baseRss = process.resourceUsage().maxRSS;
const t0 = performance.now();
const result = parseCanaryYaml(input, 'hostile.yaml');
// What `start` sends and the workflow validates again: plain JSON documents.
if (result.ok) validateCanaryBundle(JSON.parse(JSON.stringify(result.value.documents)) as unknown[]);
const ms = Math.round(performance.now() - t0);
const peakRss = process.resourceUsage().maxRSS;
process.stdout.write(
  `${JSON.stringify({
    case: name,
    bytes: Buffer.byteLength(input),
    ms,
    baseRssMb: mb(baseRss),
    peakRssMb: mb(peakRss),
    ok: result.ok,
    errors: result.ok ? 0 : result.errors.length,
    error: result.ok ? null : (result.errors[0]?.message ?? null),
  })}\n`,
);
