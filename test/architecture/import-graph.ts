/**
 * The product's import graph, read with the TypeScript parser: every relative import and re-export of every
 * product file, marked type-only when nothing of it exists at run time. The architecture test and its
 * figures (largest file, folder cycles, largest file cycle) are computed from it.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export const ROOT = path.resolve(__dirname, '../..');
/** The product's rooms (docs/architecture.md). The simulators, tests and benchmarks are not product code. */
export const PRODUCT_DIRS = [
  'domain',
  'workflows',
  'activities',
  'apis',
  'store',
  'routing',
  'client',
  'workers',
  'infra',
];

export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

export function listTsFiles(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

function resolve(fromFile: string, spec: string): string | undefined {
  const base = path.resolve(ROOT, path.dirname(fromFile), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate)) return path.relative(ROOT, candidate).split(path.sep).join('/');
  }
  return undefined;
}

function isTypeOnly(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) return node.isTypeOnly;
  const clause = node.importClause;
  if (!clause) return false; // side-effect import
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  if (!bindings || ts.isNamespaceImport(bindings)) return false;
  return bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

export function importsOf(file: string): ImportEdge[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false);
  const edges: ImportEdge[] = [];
  for (const stmt of source.statements) {
    if (!ts.isImportDeclaration(stmt) && !ts.isExportDeclaration(stmt)) continue;
    const spec = stmt.moduleSpecifier;
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
    const to = resolve(file, spec.text);
    if (to) edges.push({ from: file, to, typeOnly: isTypeOnly(stmt) });
  }
  return edges;
}

export function productGraph(dirs = PRODUCT_DIRS): { files: string[]; edges: ImportEdge[] } {
  const files = dirs.flatMap(listTsFiles);
  return { files, edges: files.flatMap(importsOf) };
}

/** Strongly connected sets of size > 1 (Tarjan), largest first. */
export function cycles(nodes: string[], edges: Array<[string, string]>): string[][] {
  const out = new Map<string, string[]>(nodes.map((n) => [n, []]));
  for (const [a, b] of edges) if (a !== b) out.get(a)?.push(b);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const result: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of out.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const set: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        set.push(w);
      } while (w !== v);
      if (set.length > 1) result.push(set.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return result.sort((a, b) => b.length - a.length);
}

/**
 * The room a file lives in: its top folder, except `workflows/messages.ts`, the workflows' public contract
 * (signals, queries, inputs), which is a room of its own: routing and activities may use it without
 * depending on the workflows that implement it.
 */
export function roomOf(file: string): string {
  if (file === 'workflows/messages.ts') return 'workflows/messages';
  return file.split('/')[0]!;
}

export function lineCount(file: string): number {
  return fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n').length;
}

/** The tables of our PostgreSQL schema, read from the migrations. */
export function ourTables(): string[] {
  const dir = path.join(ROOT, 'migrations');
  const sql = fs
    .readdirSync(dir)
    .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
  return [...sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)/g)].map((m) => m[1]!);
}

/**
 * SQL against our database in a file's string literals: a statement that starts with an SQL verb and names
 * one of our tables, or a hand-written transaction. (QuickBooks' query language also says SELECT, but of
 * its own entities.)
 */
export function sqlStatementsOf(file: string, tables = ourTables()): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const verb = /^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|WITH|LOCK TABLE|TRUNCATE)\b/;
  const transaction = /^\s*(BEGIN|COMMIT|ROLLBACK)\s*;?\s*$/;
  const table = new RegExp(`\\b(${tables.join('|')})\\b`);
  const visit = (node: ts.Node): void => {
    let literal: string | undefined;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) literal = node.text;
    else if (ts.isTemplateExpression(node))
      literal = [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(' ');
    if (literal !== undefined && ((verb.test(literal) && table.test(literal)) || transaction.test(literal))) {
      found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}
