// YAML front end: multi-document YAML → validated bundle, or every problem with its line and column. PURE
// (the `yaml` package is plain JavaScript; no I/O here — the CLI reads the file).
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
} from 'yaml';
import { issuePath, type PathSegment, type SpecError, type SpecIssue, type SpecResult } from './errors.js';
import { validateDocuments, type ParsedCanaryBundle } from './validate.js';

type ParsedDocument = Document.Parsed;

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return key.value === null ? undefined : String(key.value);
  return typeof key === 'string' ? key : undefined;
}

/**
 * The offset of the node at `path` in `doc`: the key of the last map entry found (so `stepWeight: "10"` points at
 * `stepWeight`), the item of a sequence, or the nearest existing parent when the path goes further than the YAML.
 */
function offsetOf(doc: ParsedDocument, path: readonly PathSegment[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0];
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(segment));
      if (!pair) break;
      const keyRange = (pair.key as Node | null)?.range;
      offset = keyRange?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

/**
 * Parses a (multi-document) YAML file holding exactly one Flagger `Canary` plus any `MetricTemplate`s and
 * `AlertProvider`s, and validates it. Every problem is reported at once: YAML syntax errors (then nothing else,
 * the structure is not reliable), or schema and cross-field errors, each with its path and 1-based line/column.
 * Empty documents (`---` with nothing or only comments) are skipped; `doc[i]` in paths counts the others.
 */
export function parseCanaryYaml(text: string, _fileName?: string): SpecResult<ParsedCanaryBundle> {
  // Positions are relative to `text`; the file name only matters when rendering: formatSpecErrors(errors, fileName).
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const position = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const syntaxErrors: SpecError[] = [];
  const kept: Array<{ yaml: ParsedDocument; value: unknown }> = [];
  docs.forEach((doc) => {
    for (const error of doc.errors) {
      syntaxErrors.push({
        path: '',
        ...position(error.pos[0]),
        message: `YAML syntax error: ${error.message}`,
      });
    }
    if (doc.errors.length > 0 || doc.contents === null) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      syntaxErrors.push({
        path: '',
        ...position(doc.contents.range[0]),
        message: `YAML error: ${e instanceof Error ? e.message : String(e)}`,
      });
      return;
    }
    if (value !== null && value !== undefined) kept.push({ yaml: doc, value });
  });
  if (syntaxErrors.length > 0) return { ok: false, errors: sortByPosition(syntaxErrors) };

  const result = validateDocuments(kept.map((k) => k.value));
  if (result.ok) return result;
  const toError = (issue: SpecIssue): SpecError => {
    const yamlDoc = kept[issue.doc]?.yaml;
    return {
      path: issuePath(issue, kept.length),
      ...(yamlDoc ? position(offsetOf(yamlDoc, issue.path)) : {}),
      message: issue.message,
    };
  };
  return { ok: false, errors: sortByPosition(result.issues.map(toError)) };
}

/** Stable sort by line and column; errors without a position keep their order, first. */
function sortByPosition(errors: SpecError[]): SpecError[] {
  return errors
    .map((error, index) => ({ error, index }))
    .sort(
      (a, b) =>
        (a.error.line ?? 0) - (b.error.line ?? 0) ||
        (a.error.column ?? 0) - (b.error.column ?? 0) ||
        a.index - b.index,
    )
    .map((e) => e.error);
}
