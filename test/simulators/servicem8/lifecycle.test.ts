import { execFile } from 'node:child_process';
import { join } from 'node:path';

const FIXTURE = join(__dirname, 'fixtures', 'stop-then-exit.ts');
const TSX = join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'tsx');

it('stop() leaves nothing running: the process exits although a retry and a hanging request were pending', async () => {
  const started = Date.now();
  const output = await new Promise<string>((resolve, reject) => {
    execFile(TSX, [FIXTURE], { timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
  expect(JSON.parse(output)).toEqual({ delivery: 'retry_wait', hanging: 'dropped' });
  expect(Date.now() - started).toBeLessThan(20_000);
});
