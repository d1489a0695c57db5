/**
 * The docs are self-contained (issue 11): no tracked source or document points outside the repository, every
 * docs/*.md it names exists (with the section it cites), and every "design principle N" is one that
 * docs/design.md defines. See docs/architecture.md ("Finding a rule's code and test in a minute").
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './import-graph';

/** Spelled in pieces so that this file does not point outside the repository itself. */
const OUTSIDE = [['..', 'shared'].join('/'), ['', 'work', ''].join('/'), ['seed', ''].join('/')];

const CHECKED = /\.(ts|md|js)$/;
const SKIPPED_DIRS = ['node_modules', 'dist', '.data', '.tools', 'coverage', '.git'];

/** Tracked files (git), or every file outside the skipped folders when there is no git checkout. */
function trackedFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f && fs.existsSync(path.join(ROOT, f)));
  } catch {
    return fs
      .readdirSync(ROOT, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .filter((f) => !f.split('/').some((part) => SKIPPED_DIRS.includes(part)));
  }
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

export interface DocIndex {
  /** docs/<name>.md -> its headings' text */
  headings: Map<string, string[]>;
  /** The principle numbers docs/design.md defines (`## N. …`). */
  principles: Set<number>;
}

export function indexDocs(read: (file: string) => string | undefined, docFiles: string[]): DocIndex {
  const headings = new Map<string, string[]>();
  for (const f of docFiles) {
    const text = read(f) ?? '';
    const inFence = { on: false };
    const hs: string[] = [];
    for (const line of text.split('\n')) {
      if (/^\s*```/.test(line)) inFence.on = !inFence.on;
      const m = !inFence.on && /^#{1,6}\s+(.*)$/.exec(line);
      if (m) hs.push(m[1] ?? '');
    }
    headings.set(f, hs);
  }
  const principles = new Set(
    (headings.get('docs/design.md') ?? [])
      .map((h) => /^(\d+)\.\s/.exec(h)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number),
  );
  return { headings, principles };
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Every problem of one file, as `file:line: what is wrong`. */
export function problemsIn(file: string, text: string, docs: DocIndex): string[] {
  const out: string[] = [];
  const at = (i: number, what: string) => out.push(`${file}:${lineOf(text, i)}: ${what}`);

  for (const needle of OUTSIDE) {
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      at(i, `points outside the repository ("${needle}")`);
    }
  }

  // docs/<name>.md anywhere, and the section it cites (`docs/quickbooks-api.md §2.9`).
  for (const m of text.matchAll(/docs\/([A-Za-z0-9_.-]+\.md)(?:\s+§\s?(\d+(?:\.\d+)?[a-z]?))?/g)) {
    const doc = `docs/${m[1]}`;
    const hs = docs.headings.get(doc);
    if (!hs) {
      at(m.index, `names ${doc}, which does not exist`);
      continue;
    }
    const section = m[2];
    if (section && !hs.some((h) => h.startsWith(`${section}.`) || h.startsWith(`${section} `))) {
      at(m.index, `cites ${doc} §${section}, which has no such section`);
    }
  }

  // Markdown links to .md files, relative to the linking document, with their anchors.
  if (file.endsWith('.md')) {
    for (const m of text.matchAll(/\]\(([^)\s]+?\.md)(#[^)\s]*)?\)/g)) {
      const target = m[1] ?? '';
      if (/^[a-z]+:/i.test(target)) continue; // a URL
      const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), target));
      if (!resolved.startsWith('docs/')) continue; // other documents are checked by existence below
      const hs = docs.headings.get(resolved);
      if (!hs) {
        at(m.index, `links to ${resolved}, which does not exist`);
        continue;
      }
      const anchor = m[2]?.slice(1);
      if (anchor && !hs.map(slug).includes(anchor)) {
        at(m.index, `links to ${resolved}#${anchor}, which has no such heading`);
      }
    }
  }

  // "design principle 3", "design principles 2, 3 and 9": each must be defined in docs/design.md.
  for (const m of text.matchAll(/design[\s*/]+principles?[\s*/]+(\d+(?:(?:,\s*|\s+and\s+)\d+)*)/gi)) {
    for (const n of (m[1] ?? '').split(/,\s*|\s+and\s+/).map(Number)) {
      if (!docs.principles.has(n))
        at(m.index, `cites design principle ${n}, which docs/design.md does not define`);
    }
    // In code, a citation says where the principle is defined.
    if (!file.endsWith('.md') && !/docs\/design\.md/.test(text.slice(m.index, m.index + m[0].length + 60))) {
      at(m.index, `cites "${m[0].replace(/\s+/g, ' ')}" without naming docs/design.md`);
    }
  }
  return out;
}

const files = trackedFiles().filter((f) => CHECKED.test(f) && f !== 'test/architecture/docs.test.ts');
const read = (f: string): string | undefined => {
  const abs = path.join(ROOT, f);
  return fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : undefined;
};
const docFiles = fs
  .readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const docs = indexDocs(read, docFiles);

describe('docs are self-contained (docs/architecture.md)', () => {
  it('docs/design.md defines its principles, numbered from 1 without gaps', () => {
    const numbers = [...docs.principles].sort((a, b) => a - b);
    expect(numbers.length).toBeGreaterThanOrEqual(8);
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));
  });

  it('no tracked file points outside the repository, at a missing doc or section, or at an undefined principle', () => {
    expect(files.length).toBeGreaterThan(100);
    const problems = files.flatMap((f) => problemsIn(f, read(f) ?? '', docs));
    expect(problems).toEqual([]);
  });

  it('the checks can fail: made-up bad references are seen', () => {
    const bad = [
      `see ${OUTSIDE[0]}/notes.txt`,
      `built on ${OUTSIDE[1]}shared/notes.txt`,
      `the ${OUTSIDE[2]}article.txt`,
      'see docs/nowhere.md',
      'limits (docs/quickbooks-api.md §9.9)',
      'sorted once (design principle 99, docs/design.md)',
      '/** owners (design principle 2) */',
    ].join('\n');
    const found = problemsIn('x.ts', bad, docs);
    expect(found).toEqual([
      expect.stringContaining('x.ts:1: points outside'),
      expect.stringContaining('x.ts:2: points outside'),
      expect.stringContaining('x.ts:3: points outside'),
      expect.stringContaining('names docs/nowhere.md'),
      expect.stringContaining('§9.9, which has no such section'),
      expect.stringContaining('design principle 99, which docs/design.md does not define'),
      expect.stringContaining('without naming docs/design.md'),
    ]);
    expect(problemsIn('docs/x.md', '[a](design.md#no-such-heading) [b](missing.md)', docs)).toEqual([
      expect.stringContaining('links to docs/design.md#no-such-heading'),
      expect.stringContaining('links to docs/missing.md, which does not exist'),
    ]);
    expect(
      problemsIn('docs/x.md', 'design principles 2, 3 and 9; [q](quickbooks-api.md#5-webhooks)', docs),
    ).toEqual([]);
  });
});
