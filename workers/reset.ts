/**
 * `npm run reset`: the next `npm start` begins a clean demo. Deletes what `npm start` made for this DATA_DIR:
 * its database (`sm8qbo_<hash>` on the local PostgreSQL, or the embedded one in DATA_DIR/postgres), the
 * simulators' saved worlds (DATA_DIR/simulators) and the Temporal dev server's data (DATA_DIR/temporal). It
 * keeps the keys and the admin token (nothing encrypted with them is left). A database named by DATABASE_URL
 * is never deleted: reset did not create it. It refuses while `npm start` runs on this DATA_DIR.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../infra/config';
import {
  canConnect,
  DEFAULT_LOCAL_URL,
  databaseExists,
  dropDatabase,
  localDatabaseName,
  withDatabase,
} from '../infra/database';
import { runMain } from '../infra/main';
import { runningStart } from './data-check';

/** What was deleted and what was kept, one line each. */
export async function resetDemo(
  config: Pick<Config, 'dataDir' | 'databaseUrl'>,
  localUrl = DEFAULT_LOCAL_URL,
): Promise<string[]> {
  const dir = config.dataDir;
  const pid = runningStart(dir);
  if (pid !== undefined)
    throw new Error(`npm start is running on ${dir} (pid ${pid}): stop it (Ctrl-C) before npm run reset`);
  const lines: string[] = [];
  if (config.databaseUrl) {
    const db = new URL(config.databaseUrl);
    lines.push(
      `kept     database ${db.pathname.slice(1)} on ${db.host}: it is DATABASE_URL's, which reset never deletes`,
    );
  } else if (await canConnect(withDatabase(localUrl, 'postgres'))) {
    const url = withDatabase(localUrl, localDatabaseName(dir));
    if (await databaseExists(url)) {
      await dropDatabase(url);
      lines.push(`deleted  database ${localDatabaseName(dir)} on ${new URL(url).host}`);
    }
  }
  const parts: Array<[string, string]> = [
    ['postgres', 'the embedded PostgreSQL and its database'],
    ['simulators', "the simulators' saved worlds"],
    ['temporal', "the Temporal dev server's workflows and schedules"],
  ];
  for (const [sub, what] of parts) {
    const target = path.join(dir, sub);
    if (!fs.existsSync(target)) continue;
    fs.rmSync(target, { recursive: true, force: true });
    lines.push(`deleted  ${target} (${what})`);
  }
  if (lines.length === 0 || lines.every((l) => l.startsWith('kept')))
    lines.push(`nothing to delete in ${dir}`);
  lines.push(`kept     the keys and the admin token in ${dir}`);
  return lines;
}

async function main(): Promise<void> {
  for (const line of await resetDemo(loadConfig())) process.stdout.write(`${line}\n`);
  process.stdout.write('the next npm start begins a clean demo\n');
}

if (require.main === module) runMain(main);
