// No import cycles in src/: a module graph with a cycle evaluates one of its modules before the other is ready
// (a `const` read across the cycle at load time is a TDZ error, an `export *` is silently empty), and the modules of
// a cycle can only be understood, tested and moved together.
//
// The graph is the one Node loads: static relative `import … from`, `import '…'` and `export … from` declarations.
// Type-only ones (`import type`, `export type`, `import { type A }` with every name a type) are not edges: the
// project compiles with `verbatimModuleSyntax`, so exactly those are erased from the JavaScript. Dynamic `import()`
// is not an edge either: it runs when called, after every module has loaded (src/cli/dev.ts loads the stack lazily).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/dev/stack/config.js';

const src = join(projectRoot, 'src');

/**
 * Cycles that are known and accepted, each with the reason. A cycle is allowed when every module in it matches one
 * entry's pattern (paths relative to src/).
 */
const allowed: { pattern: RegExp; reason: string }[] = [
  {
    pattern: /^domain\/decision\/[^/]+\.ts$/,
    reason:
      'the decision core split out of decide.ts: its step modules (analysis, gates, lifecycle, cursor, infra) are ' +
      'the mutually recursive steps of one state machine (a passing analysis starts the promotion, which opens a ' +
      'gate, whose approval starts the next analysis tick). Every cross-module reference is a call inside a ' +
      'function body, never a module-level read, so load order does not matter.',
  },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The relative specifiers a module loads at run time (see the header for what counts). */
export function runtimeImports(code: string, fileName = 'module.ts'): string[] {
  const sf = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const st of sf.statements) {
    let spec: ts.Expression | undefined;
    if (ts.isImportDeclaration(st)) {
      const clause = st.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      const onlyTypes =
        clause !== undefined &&
        clause.name === undefined &&
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      if (onlyTypes) continue;
      spec = st.moduleSpecifier;
    } else if (ts.isExportDeclaration(st)) {
      if (st.isTypeOnly) continue;
      const clause = st.exportClause;
      if (
        clause &&
        ts.isNamedExports(clause) &&
        clause.elements.length > 0 &&
        clause.elements.every((e) => e.isTypeOnly)
      )
        continue;
      spec = st.moduleSpecifier;
    }
    if (spec && ts.isStringLiteral(spec) && spec.text.startsWith('.')) out.push(spec.text);
  }
  return out;
}

function resolveImport(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** The strongly connected components with more than one module (or a module importing itself): the cycles. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

let built: { graph: Map<string, string[]>; unresolved: string[] } | undefined;

/** src/'s module graph (paths relative to src/), built once. */
function srcGraph(): { graph: Map<string, string[]>; unresolved: string[] } {
  if (built) return built;
  const graph = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of sourceFiles(src)) {
    const rel = relative(src, file);
    const deps: string[] = [];
    for (const spec of runtimeImports(readFileSync(file, 'utf8'), file)) {
      const target = resolveImport(file, spec);
      if (target === undefined) unresolved.push(`${rel} → ${spec}`);
      else if (target.startsWith(src)) deps.push(relative(src, target));
    }
    graph.set(rel, deps);
  }
  built = { graph, unresolved };
  return built;
}

describe('import cycles in src/', () => {
  it('reads runtime imports and skips type-only ones', () => {
    const code = [
      "import { a } from './a.js';",
      "import type { B } from './b.js';",
      "import { type C, type D } from './c.js';",
      "import { type E, f } from './e.js';",
      "import g, { type H } from './g.js';",
      "import './side-effect.js';",
      "export * from './star.js';",
      "export type { I } from './i.js';",
      "export { j } from './j.js';",
      "import { z } from 'zod';",
      "const lazy = () => import('./lazy.js');",
    ].join('\n');
    expect(runtimeImports(code)).toEqual([
      './a.js',
      './e.js',
      './g.js',
      './side-effect.js',
      './star.js',
      './j.js',
    ]);
  });

  it('finds a cycle, and only cycles', () => {
    const g = new Map<string, string[]>([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
      ['e.ts', ['e.ts']],
      ['f.ts', ['d.ts']],
    ]);
    expect(findCycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['e.ts']]);
    expect(
      findCycles(
        new Map([
          ['x.ts', ['y.ts']],
          ['y.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('every relative import in src/ resolves to a file', () => {
    expect(srcGraph().unresolved).toEqual([]);
  });

  it('has no import cycle outside the allow-list (each entry with its reason)', () => {
    const { graph } = srcGraph();
    expect(graph.size).toBeGreaterThan(50);
    const cycles = findCycles(graph);
    const unexpected = cycles.filter((c) => !allowed.some((a) => c.every((m) => a.pattern.test(m))));
    expect(
      unexpected.map((c) => c.join(' → ')),
      'import cycles (fix them, or allow one with a reason)',
    ).toEqual([]);
  });

  it('src/config.ts imports nothing from src/dev (production settings have no dev-stack defaults)', () => {
    const { graph } = srcGraph();
    const reachable = new Set<string>();
    const visit = (m: string): void => {
      if (reachable.has(m)) return;
      reachable.add(m);
      for (const d of graph.get(m) ?? []) visit(d);
    };
    visit('config.ts');
    expect(reachable.size).toBeGreaterThan(3);
    expect([...reachable].filter((m) => m.startsWith('dev/'))).toEqual([]);
  });
});
