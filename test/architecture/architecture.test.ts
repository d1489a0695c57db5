/**
 * The house rules of docs/architecture.md, checked on every run: which room may import which, no cycle
 * between rooms, no file cycle larger than two, no product file over 400 lines, SQL only in store/.
 * KNOWN_DEBT lists what the rework of issue 11 has not yet moved; it may only shrink: an entry that no
 * longer applies fails the test as surely as a new violation does.
 */
import { cycles, lineCount, productGraph, roomOf, sqlStatementsOf } from './import-graph';
import arrowsFile from './arrows.json';

/** room -> rooms it may import. `type:` rooms may be imported for types only. */
/** room -> rooms it may import (`type:` rooms for type imports only); eslint.config.mjs reads the same file. */
const ARROWS: Record<string, string[]> = arrowsFile.arrows;

const KNOWN_DEBT: { arrows: string[]; over400: string[]; sqlOutsideStore: string[]; fileCycles: string[] } = {
  arrows: [],
  over400: [],
  sqlOutsideStore: [],
  fileCycles: [],
};

const { files, edges } = productGraph();

function arrowViolations(): string[] {
  const bad = new Set<string>();
  for (const e of edges) {
    const from = roomOf(e.from);
    const to = roomOf(e.to);
    if (from === to) continue;
    const allowed = ARROWS[from] ?? [];
    if (allowed.includes('*') || allowed.includes(to)) continue;
    if (e.typeOnly && allowed.includes(`type:${to}`)) continue;
    bad.add(`${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`);
  }
  return [...bad].sort();
}

function checkAgainstDebt(found: string[], debt: string[]): void {
  expect({
    new: found.filter((f) => !debt.includes(f)),
    paidOff: debt.filter((d) => !found.includes(d)),
  }).toEqual({
    new: [],
    paidOff: [],
  });
}

describe('architecture (docs/architecture.md)', () => {
  afterAll(() => {
    const rooms = [...new Set(files.map(roomOf))];
    const roomEdges = edges.map((e) => [roomOf(e.from), roomOf(e.to)] as [string, string]);
    const sizes = files.map((f) => ({ f, n: lineCount(f) })).sort((a, b) => b.n - a.n);
    const fileCycles = cycles(
      files,
      edges.map((e) => [e.from, e.to] as [string, string]),
    );
    console.log(
      [
        `architecture: ${files.length} product files, ${edges.length} imports`,
        `largest file: ${sizes[0]?.f} (${sizes[0]?.n} lines); over 400 lines: ${sizes.filter((s) => s.n > 400).length}`,
        `room cycles: ${cycles(rooms, roomEdges).length}; largest file cycle: ${fileCycles[0]?.length ?? 0}`,
      ].join('\n'),
    );
  });

  it('every import follows the arrows between rooms (type imports count)', () => {
    checkAgainstDebt(arrowViolations(), KNOWN_DEBT.arrows);
  });

  // An arrow still listed as debt is left out: it is counted by the arrows test until it is gone.
  it('has no cycle between rooms', () => {
    const rooms = [...new Set(files.map(roomOf))];
    const roomEdges = edges
      .filter((e) => !KNOWN_DEBT.arrows.includes(`${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`))
      .map((e) => [roomOf(e.from), roomOf(e.to)] as [string, string]);
    expect(cycles(rooms, roomEdges)).toEqual([]);
  });

  it('has no file cycle larger than two (type imports count)', () => {
    const big = cycles(
      files,
      edges.map((e) => [e.from, e.to] as [string, string]),
    )
      .filter((c) => c.length > 2)
      .map((c) => c.join(' '));
    checkAgainstDebt(big, KNOWN_DEBT.fileCycles);
  });

  it('has no product file over 400 lines', () => {
    checkAgainstDebt(
      files.filter((f) => lineCount(f) > 400),
      KNOWN_DEBT.over400,
    );
  });

  it('keeps SQL in store/ (and the migration runner and database helpers of infra/)', () => {
    const outside = files
      .filter((f) => !f.startsWith('store/') && f !== 'infra/database.ts' && f !== 'infra/migrate.ts')
      .filter((f) => sqlStatementsOf(f).length > 0);
    checkAgainstDebt(outside, KNOWN_DEBT.sqlOutsideStore);
  });

  it('the checks can fail: a made-up wrong arrow, cycle and SQL are seen', () => {
    expect(
      cycles(
        ['a', 'b', 'c'],
        [
          ['a', 'b'],
          ['b', 'c'],
          ['c', 'a'],
        ],
      ),
    ).toEqual([['a', 'b', 'c']]);
    expect(roomOf('workflows/messages.ts')).toBe('workflows/messages');
    expect(ARROWS.store).not.toContain('activities');
  });
});
