// YAML front end: multi-document YAML → validated bundle, or every problem with its line and column. PURE
// (the `yaml` package is plain JavaScript; no I/O here — the CLI reads the file).
//
// Hostile input is bounded before it costs anything: the size (bytes), a cheap count of lines and indicators before
// parsing, the nesting depth on the concrete syntax tree before it is composed (composing is recursive), and the
// size after alias expansion counted on the syntax tree before any value is built (billion laughs, merge-key
// fan-out). Duplicate keys are found with one set per map (linear). The documents handed on are plain JSON built
// here: aliases resolved to copies, no shared references or cycles, no value JSON cannot carry — so what is
// validated is exactly what the workflow receives.
import {
  Composer,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  type CST,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { groupDigits, quote } from '../sanitize.js';
import {
  formatPath,
  issuePath,
  type PathSegment,
  type SpecError,
  type SpecIssue,
  type SpecResult,
} from './errors.js';
import { validateDocuments, type ParsedCanaryBundle } from './validate.js';
import { normalizeDocuments, type NormalizeOptions } from './normalize.js';

type ParsedDocument = Document.Parsed;

/** Resource limits of the YAML front end. */
export interface YamlLimits {
  /** Size of the input in UTF-8 bytes, and of the data after alias expansion (characters). */
  maxBytes: number;
  /** Nesting of collections (maps and sequences). */
  maxDepth: number;
  /** Nodes (scalars and collections) after alias expansion; also bounds the lines and indicators before parsing. */
  maxNodes: number;
}

export const defaultYamlLimits: YamlLimits = { maxBytes: 1024 * 1024, maxDepth: 64, maxNodes: 50_000 };

const count = (n: number): string => (n >= 1e15 ? 'more than 10^15' : groupDigits(n));

/** UTF-8 length of `text` (lone surrogates count as the 3 bytes of U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** `1048576` → `1,048,576 bytes (1 MiB)`. */
export function describeBytes(n: number): string {
  const mib = n / (1024 * 1024);
  const kib = n / 1024;
  const unit =
    n >= 1024 * 1024 && Number.isInteger(mib)
      ? ` (${mib} MiB)`
      : n >= 1024 && Number.isInteger(kib)
        ? ` (${kib} KiB)`
        : '';
  return `${count(n)} bytes${unit}`;
}

/** A character YAML does not allow in its stream (YAML 1.2 §5.1): C0 but TAB/LF/CR, DEL, C1 but NEL, surrogates. */
function forbiddenAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 0x20) return c !== 0x09 && c !== 0x0a && c !== 0x0d;
  if (c === 0x7f) return true;
  if (c >= 0x80 && c <= 0x9f) return c !== 0x85;
  if (c >= 0xd800 && c <= 0xdbff) {
    const next = text.charCodeAt(i + 1);
    return !(next >= 0xdc00 && next <= 0xdfff);
  }
  if (c >= 0xdc00 && c <= 0xdfff) {
    const prev = text.charCodeAt(i - 1);
    return !(prev >= 0xd800 && prev <= 0xdbff);
  }
  return false;
}

interface Prescan {
  /** Lines plus `,` `[` `{` `:` and `- ` indicators: an upper bound of the work of parsing, counted in one pass. */
  tokens: number;
  forbidden?: { line: number; column: number; code: number };
}

function prescan(text: string): Prescan {
  let tokens = 1;
  let line = 1;
  let lineStart = 0;
  let forbidden: Prescan['forbidden'];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      tokens++;
      line++;
      lineStart = i + 1;
    } else if (c === 0x2c || c === 0x5b || c === 0x7b || c === 0x3a) tokens++;
    else if (c === 0x2d) {
      const next = text.charCodeAt(i + 1);
      if (Number.isNaN(next) || next === 0x20 || next === 0x0a || next === 0x09 || next === 0x0d) tokens++;
    } else if (forbidden === undefined && (c < 0x20 || c >= 0x7f) && forbiddenAt(text, i))
      forbidden = { line, column: i - lineStart + 1, code: c };
  }
  return forbidden ? { tokens, forbidden } : { tokens };
}

/** The offset of the first collection nested deeper than `maxDepth`, on the concrete syntax tree (iterative). */
function tooDeep(tokens: readonly CST.Token[], maxDepth: number): number | undefined {
  const stack: Array<{ token: CST.Token; depth: number }> = tokens.map((token) => ({ token, depth: 0 }));
  while (stack.length > 0) {
    const { token, depth } = stack.pop() as { token: CST.Token; depth: number };
    switch (token.type) {
      case 'document':
        if (token.value) stack.push({ token: token.value, depth });
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        const d = depth + 1;
        if (d > maxDepth) return token.offset;
        for (const item of token.items) {
          if ('key' in item && item.key) stack.push({ token: item.key, depth: d });
          if (item.value) stack.push({ token: item.value, depth: d });
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

interface Size {
  nodes: number;
  chars: number;
}

interface Located {
  offset: number | undefined;
  message: string;
  /** Reported also for a document with syntax errors. */
  duplicateKey?: true;
}

const isMergeKey = (key: unknown): boolean =>
  isScalar(key) && typeof key.value === 'symbol' && key.value.description === '<<';

/** The property name a scalar key becomes in JSON (as the `yaml` package names it: null → ""). */
function jsonKey(value: unknown): string | undefined {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * One document → plain JSON. `measure` walks the syntax tree once (anchors in document order, an alias's expanded
 * size memoised on its anchor): duplicate keys, cycles, unknown anchors, values JSON cannot carry, and the
 * expanded size. Only when that passes is the value built (`build`), in time and memory bounded by that size.
 */
class DocumentConverter {
  readonly errors: Located[] = [];
  /** Each alias → the node it names (also for error positions in validation paths). */
  readonly aliasTargets = new Map<Node, Node>();
  /** The largest alias expansion seen: the culprit named when the budget is exceeded. */
  biggestAlias: { offset: number | undefined; name: string; nodes: number } | undefined;

  private readonly anchors = new Map<string, Node>();
  private readonly memo = new Map<Node, Size>();
  private readonly inProgress = new Set<Node>();

  /** `where(offset)` renders a position for messages (`line 4, column 3`). */
  constructor(private readonly where: (offset: number | undefined) => string) {}

  private error(node: unknown, message: string): void {
    const range = (node as Node | null)?.range;
    this.errors.push({ offset: range?.[0], message });
  }

  private resolve(alias: Node & { source: string }): Node | undefined {
    const known = this.aliasTargets.get(alias);
    if (known) return known;
    const target = this.anchors.get(alias.source);
    if (target) this.aliasTargets.set(alias, target);
    return target;
  }

  measure(node: unknown): Size {
    if (node === null || node === undefined) return { nodes: 1, chars: 4 };
    if (isAlias(node)) {
      const target = this.resolve(node);
      if (!target) {
        this.error(node, `YAML error: alias *${node.source} names no anchor defined before it`);
        return { nodes: 1, chars: 0 };
      }
      if (this.inProgress.has(target)) {
        this.error(
          node,
          `YAML error: alias *${node.source} is inside the node it names (a cycle); a manifest is a tree`,
        );
        return { nodes: 1, chars: 0 };
      }
      const size = this.memo.get(target) ?? this.measure(target);
      if (!this.biggestAlias || size.nodes > this.biggestAlias.nodes)
        this.biggestAlias = { offset: node.range?.[0], name: node.source, nodes: size.nodes };
      return size;
    }
    const anchored = node as Node;
    if (anchored.anchor) this.anchors.set(anchored.anchor, anchored);
    let size: Size;
    if (isScalar(node)) {
      const v = node.value;
      if (typeof v === 'string') size = { nodes: 1, chars: v.length };
      else if (typeof v === 'number') {
        if (!Number.isFinite(v))
          this.error(
            node,
            `YAML error: ${String(node.source)} is not a number JSON can carry (${String(v)})`,
          );
        size = { nodes: 1, chars: 8 };
      } else if (v === null || typeof v === 'boolean') size = { nodes: 1, chars: 4 };
      else {
        this.error(
          node,
          `YAML error: unsupported value${node.tag ? ` of type ${node.tag}` : ''}: a manifest holds strings, numbers, booleans and null`,
        );
        size = { nodes: 1, chars: 0 };
      }
    } else if (isSeq(node)) {
      this.inProgress.add(node);
      size = { nodes: 1, chars: 2 };
      for (const item of node.items) {
        const s = this.measure(item);
        size.nodes += s.nodes;
        size.chars += s.chars;
      }
      this.inProgress.delete(node);
    } else if (isMap(node)) {
      this.inProgress.add(node);
      size = { nodes: 1, chars: 2 };
      const seen = new Map<string, number | undefined>();
      for (const pair of node.items) {
        const key: unknown = pair.key;
        const merge = isMergeKey(key);
        if (merge) {
          this.checkMergeSources(pair.value);
        } else {
          const name = this.keyName(key);
          if (name !== undefined) {
            if (seen.has(name)) {
              const first = seen.get(name);
              this.errors.push({
                offset: (key as Node | null)?.range?.[0],
                message: `YAML syntax error: duplicate key ${quote(name)} (first at ${this.where(first)}): map keys must be unique`,
                duplicateKey: true,
              });
            } else seen.set(name, (key as Node | null)?.range?.[0]);
          }
        }
        const k = merge ? { nodes: 1, chars: 2 } : this.measure(key);
        const v = this.measure(pair.value);
        size.nodes += k.nodes + v.nodes;
        size.chars += k.chars + v.chars + 1;
      }
      this.inProgress.delete(node);
    } else {
      this.error(node, 'YAML error: unsupported node');
      size = { nodes: 1, chars: 0 };
    }
    if (anchored.anchor) this.memo.set(anchored, size);
    return size;
  }

  /** The JSON property name of a map key; complex keys (maps, sequences) are an error. */
  private keyName(key: unknown): string | undefined {
    const target = isAlias(key) ? this.resolve(key) : key;
    if (target === null || target === undefined) return '';
    if (isScalar(target)) {
      const name = jsonKey(target.value);
      if (name === undefined)
        this.error(key, 'YAML error: a map key must be a string, number, boolean or null');
      return name;
    }
    if (isMap(target) || isSeq(target))
      this.error(
        key,
        'YAML error: a map key must be a scalar (string, number, boolean or null), not a collection',
      );
    return undefined;
  }

  private checkMergeSources(value: unknown): void {
    const sources = isSeq(value) ? value.items : [value];
    for (const source of sources) {
      const target = isAlias(source) ? this.resolve(source) : source;
      if (target !== undefined && !isMap(target))
        this.error(source, 'YAML error: a merge key (<<) takes a map, an alias of a map, or a list of them');
    }
  }

  /** The plain JSON value; call only after `measure` found no errors. */
  build(node: unknown): unknown {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return this.build(this.resolve(node));
    if (isScalar(node)) return node.value;
    if (isSeq(node)) return node.items.map((item) => this.build(item));
    if (isMap(node)) return Object.fromEntries(this.entries(node));
    return null;
  }

  private entries(map: YAMLMap): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const pair of map.items) {
      if (isMergeKey(pair.key)) {
        const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const source of sources) {
          const target = isAlias(source) ? this.resolve(source) : source;
          if (!isMap(target)) continue;
          for (const [k, v] of this.entries(target)) if (!out.has(k)) out.set(k, v);
        }
      } else {
        const key = isAlias(pair.key) ? this.resolve(pair.key) : pair.key;
        const name = isScalar(key) ? jsonKey(key.value) : key === null || key === undefined ? '' : undefined;
        if (name !== undefined) out.set(name, this.build(pair.value));
      }
    }
    return out;
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return key.value === null ? undefined : jsonKey(key.value);
  return typeof key === 'string' ? key : undefined;
}

/** Map key → pair, built once per map (error positions for many issues stay linear). */
const keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairFor(map: YAMLMap, key: string): Pair | undefined {
  let index = keyIndex.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items) {
      const text = keyText(pair.key);
      if (text !== undefined && !index.has(text)) index.set(text, pair);
    }
    keyIndex.set(map, index);
  }
  return index.get(key);
}

/**
 * The offset of the node at `path` in `doc`: the key of the last map entry found (so `stepWeight: "10"` points at
 * `stepWeight`), the item of a sequence, or the nearest existing parent when the path goes further than the YAML.
 */
function offsetOf(
  doc: ParsedDocument,
  aliasTargets: ReadonlyMap<Node, Node>,
  path: readonly PathSegment[],
): number | undefined {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0];
  for (const segment of path) {
    if (isAlias(node)) node = aliasTargets.get(node);
    if (isMap(node)) {
      const pair = pairFor(node, String(segment));
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

/** Parsed documents as plain JSON, or the problems; no schema validation yet. */
export type YamlDocumentsResult =
  | {
      ok: true;
      documents: unknown[];
      located: Array<{ yaml: ParsedDocument; aliasTargets: Map<Node, Node> }>;
    }
  | { ok: false; errors: SpecError[] };

/**
 * Multi-document YAML → plain JSON documents (empty documents skipped), within `limits`. Every problem has a line
 * and column where one exists.
 */
export function parseYamlDocuments(
  text: string,
  lineCounter: LineCounter,
  limits: Partial<YamlLimits> = {},
): YamlDocumentsResult {
  const lim: YamlLimits = { ...defaultYamlLimits, ...limits };
  const position = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const fail = (error: SpecError): YamlDocumentsResult => ({ ok: false, errors: [error] });

  // A UTF-16 unit is at most 3 UTF-8 bytes: short texts need no count.
  const bytes = text.length * 3 > lim.maxBytes ? utf8Length(text) : text.length;
  if (bytes > lim.maxBytes)
    return fail({
      path: '',
      message: `the spec is ${describeBytes(bytes)}; at most ${describeBytes(lim.maxBytes)} is accepted`,
    });
  const scan = prescan(text);
  if (scan.forbidden) {
    const hex = scan.forbidden.code.toString(16).toUpperCase().padStart(4, '0');
    return fail({
      path: '',
      line: scan.forbidden.line,
      column: scan.forbidden.column,
      message: `YAML syntax error: control character U+${hex} is not allowed in YAML (write it as an escape in a double-quoted string, e.g. "${scan.forbidden.code <= 0xff ? `\\x${hex.slice(2)}` : `\\u${hex}`}")`,
    });
  }
  if (scan.tokens > lim.maxNodes)
    return fail({
      path: '',
      message: `too many lines and YAML indicators to parse: ${count(scan.tokens)} lines plus ',', '[', '{', ':' and '- ' (at most ${count(lim.maxNodes)})`,
    });

  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const deep = tooDeep(tokens, lim.maxDepth);
  if (deep !== undefined)
    return fail({
      path: '',
      ...position(deep),
      message: `YAML error: nested deeper than ${lim.maxDepth} levels of maps and sequences`,
    });
  const docs = Array.from(
    new Composer({ uniqueKeys: false, merge: true, prettyErrors: false }).compose(tokens),
  );

  const errors: SpecError[] = [];
  const kept: Array<{ yaml: ParsedDocument; aliasTargets: Map<Node, Node>; value: unknown }> = [];
  const total: Size = { nodes: 0, chars: 0 };
  let budgetReported = false;
  for (const doc of docs) {
    for (const error of doc.errors)
      errors.push({ path: '', ...position(error.pos[0]), message: `YAML syntax error: ${error.message}` });
    if (doc.contents === null) continue;
    const converter = new DocumentConverter((offset) => {
      const p = position(offset);
      return p.line !== undefined ? `line ${p.line}, column ${p.column ?? 1}` : 'an earlier line';
    });
    const size = converter.measure(doc.contents);
    const broken = doc.errors.length > 0;
    for (const e of converter.errors)
      if (!broken || e.duplicateKey) errors.push({ path: '', ...position(e.offset), message: e.message });
    if (broken) continue;
    total.nodes += size.nodes;
    total.chars += size.chars;
    if (!budgetReported && (total.nodes > lim.maxNodes || total.chars > lim.maxBytes)) {
      budgetReported = true;
      const culprit = converter.biggestAlias;
      const what =
        total.nodes > lim.maxNodes
          ? `${count(total.nodes)} nodes (at most ${count(lim.maxNodes)})`
          : `${count(total.chars)} characters of data (at most ${count(lim.maxBytes)})`;
      errors.push({
        path: '',
        ...position(culprit?.offset ?? doc.contents.range[0]),
        message: culprit
          ? `YAML error: aliases expand the documents to ${what}; alias *${culprit.name} alone expands to ${count(culprit.nodes)} nodes`
          : `YAML error: the documents have ${what}`,
      });
    }
    if (errors.length > 0) continue;
    const value = converter.build(doc.contents);
    if (value !== null && value !== undefined)
      kept.push({ yaml: doc, aliasTargets: converter.aliasTargets, value });
  }
  if (errors.length > 0) return { ok: false, errors: sortByPosition(errors) };
  return { ok: true, documents: kept.map((k) => k.value), located: kept };
}

/**
 * Parses a (multi-document) YAML file holding exactly one Flagger `Canary` plus any `MetricTemplate`s and
 * `AlertProvider`s, and validates it. Every problem is reported at once: YAML syntax errors (then nothing else,
 * the structure is not reliable), or schema and cross-field errors, each with its path and 1-based line/column.
 * Empty documents (`---` with nothing or only comments) are skipped; `doc[i]` in paths counts the others.
 * `limits` bound the work (see `YamlLimits`; defaults `defaultYamlLimits`).
 */
export function parseCanaryYaml(
  text: string,
  _fileName?: string,
  limits: Partial<YamlLimits> = {},
): SpecResult<ParsedCanaryBundle> {
  // Positions are relative to `text`; the file name only matters when rendering: formatSpecErrors(errors, fileName).
  const lineCounter = new LineCounter();
  const parsed = parseYamlDocuments(text, lineCounter, limits);
  if (!parsed.ok) return parsed;
  const position = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const result = validateDocuments(parsed.documents);
  if (result.ok) return { ok: true, value: result.value };
  const toError = (issue: SpecIssue): SpecError => {
    const located = parsed.located[issue.doc];
    return {
      path: issuePath(issue, parsed.located.length),
      ...(located ? position(offsetOf(located.yaml, located.aliasTargets, issue.path)) : {}),
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

/** A notice of the front step (normalize.ts), rendered like a SpecError (path, line, column). */
export type SpecNoticeLine = SpecError;

/** The plain JSON documents of a YAML text (empty ones dropped), or its YAML errors; no validation. */
export function yamlDocuments(
  text: string,
  limits: Partial<YamlLimits> = {},
): { ok: true; documents: unknown[] } | { ok: false; errors: SpecError[] } {
  const parsed = parseYamlDocuments(text, new LineCounter(), limits);
  return parsed.ok ? { ok: true, documents: parsed.documents } : { ok: false, errors: parsed.errors };
}

/**
 * `parseCanaryYaml` with the front step (normalize.ts) between the YAML front end and validation: other kinds
 * skipped, the default provider, references read from the cluster. Errors and notices keep the file's document
 * indices and line numbers; an error in a document read from the cluster is prefixed with that object.
 */
export function parseReleaseYaml(
  text: string,
  opts: { limits?: Partial<YamlLimits>; normalize?: NormalizeOptions } = {},
): { result: SpecResult<ParsedCanaryBundle>; notices: SpecNoticeLine[] } {
  const lineCounter = new LineCounter();
  const parsed = parseYamlDocuments(text, lineCounter, opts.limits);
  if (!parsed.ok) return { result: parsed, notices: [] };
  const position = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const total = parsed.located.length;
  const locate = (doc: number, path: PathSegment[]): SpecError => {
    const located = parsed.located[doc];
    return {
      path: issuePath({ doc, path, message: '' }, total),
      ...(located ? position(offsetOf(located.yaml, located.aliasTargets, path)) : {}),
      message: '',
    };
  };
  const n = normalizeDocuments(parsed.documents, opts.normalize);
  const result = validateDocuments(n.documents, undefined, { describeMissing: n.describeMissing });
  // The front step's notices, then validation's (fields Flagger ignores), each at its place in the file.
  const place = (notice: SpecIssue): SpecError =>
    notice.doc < 0
      ? { path: formatPath(notice.path), message: notice.message }
      : { ...locate(notice.doc, notice.path), message: notice.message };
  const notices = [
    ...n.notices.map(place),
    ...sortByPosition(result.notices.map((notice) => place({ ...notice, doc: n.origin[notice.doc] ?? -1 }))),
  ];
  if (result.ok) return { result: { ok: true, value: result.value }, notices };
  const toError = (issue: SpecIssue): SpecError => {
    if (issue.doc < 0) return { path: issuePath(issue, total), message: issue.message };
    const from = n.origin[issue.doc] ?? -1;
    if (from >= 0) return { ...locate(from, issue.path), message: issue.message };
    // Read from the cluster: no line; the path says which object.
    const d = n.documents[issue.doc] as { kind?: string; metadata?: { name?: string; namespace?: string } };
    const inner = issuePath({ ...issue, doc: 0 }, 1);
    const which = `${d.kind ?? 'object'} ${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''} (from the cluster)`;
    return { path: inner === '' ? which : `${which}: ${inner}`, message: issue.message };
  };
  return { result: { ok: false, errors: sortByPosition(result.issues.map(toError)) }, notices };
}
