// What every workflow pays for at creation: with the reused V8 context (the SDK's default) each workflow — every
// release and every lane — evaluates its own copy of each workflow module it loads statically. The manifest's
// validation and compiler, zod and re2js are only for LEGACY release inputs (src/workflows/prepare.ts) and cost
// ~36 ms of CPU and ~1.7 MiB of heap per cached workflow (npm run bench:cost, docs/benchmarks.md), so the release
// workflow loads them on demand (a dynamic import). Likewise the entry module (src/workflows/index.ts) loads each
// workflow's module on demand, so a lane does not evaluate the release's interpreter and decision core. This test
// fails if a static import brings any of them back.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../src/dev/stack/config.js';

/** Specifiers a module loads when it is evaluated: static imports/re-exports that are not type-only. */
function staticImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      const clause = st.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings;
      if (
        clause &&
        !clause.name &&
        named &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly)
      )
        continue;
      if (ts.isStringLiteral(st.moduleSpecifier)) out.push(st.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(st) && !st.isTypeOnly && st.moduleSpecifier) {
      if (ts.isStringLiteral(st.moduleSpecifier)) out.push(st.moduleSpecifier.text);
    }
  }
  return out;
}

/** Every module (src files and bare packages) evaluated when `entry` is. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (!spec.startsWith('.')) {
        packages.add(
          spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec),
        );
        continue;
      }
      const ts = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      visit(existsSync(ts) ? ts : resolve(dirname(file), spec));
    }
  };
  visit(entry);
  return { files, packages };
}

/** Modules loaded on demand with `import()` (webpack's eager mode: bundled, evaluated only when called). */
function dynamicImports(file: string): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    )
      out.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true));
  return out;
}

const src = (...p: string[]): string => join(projectRoot, 'src', ...p);
const relative = (files: Set<string>): string[] => [...files].map((f) => f.slice(projectRoot.length + 1));

describe('workflow modules evaluated per workflow', () => {
  // The entry module every workflow evaluates: it loads each workflow's module on demand.
  const entry = staticGraph(src('workflows', 'index.ts'));
  const release = staticGraph(src('workflows', 'release.ts'));
  const lane = staticGraph(src('workflows', 'lane.ts'));
  const rel = relative(release.files);

  it('finds the workflows and the decision core (the graph walk works)', () => {
    expect(rel).toContain('src/workflows/release.ts');
    expect(rel).toContain('src/domain/decide.ts');
    expect(release.packages).toContain('@temporalio/workflow');
    expect(relative(lane.files)).toContain('src/workflows/lane.ts');
    expect(dynamicImports(src('workflows', 'index.ts')).sort()).toEqual(['./lane.js', './release.js']);
  });

  it('the entry module loads no workflow statically: each workflow evaluates only its own module graph', () => {
    expect(relative(entry.files)).toEqual(['src/workflows/index.ts']);
    expect([...entry.packages]).toEqual([]);
  });

  it('a lane evaluates neither the release workflow nor the decision core', () => {
    const files = relative(lane.files);
    expect(files).not.toContain('src/workflows/release.ts');
    expect(files.filter((f) => f.startsWith('src/domain/decision') || f === 'src/domain/decide.ts')).toEqual(
      [],
    );
  });

  it('loads no zod, re2js, manifest validation or compiler statically (legacy inputs import them on demand)', () => {
    for (const g of [release, lane]) {
      const files = relative(g.files);
      expect([...g.packages].filter((p) => p === 'zod' || p === 're2js')).toEqual([]);
      expect(
        files.filter((f) => /src\/domain\/manifest\/(schema|validate|compile)[^/]*\.ts$/.test(f)),
      ).toEqual([]);
      expect(files).not.toContain('src/workflows/prepare.ts');
    }
  });
});
