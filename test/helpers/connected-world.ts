/**
 * The set-up the end-to-end test files share: a world (test/helpers/world.ts), the GST rate (10 %) in
 * ServiceM8, and one connection of the file's own, so that each file has its own API budget.
 */
import { Sm8Fixtures } from './sm8-fixtures';
import { startWorld, type World } from './world';

export interface ConnectedWorld {
  w: World;
  f: Sm8Fixtures;
  realm: string;
}

export async function startConnectedWorld(
  conn: string,
  opts: Parameters<typeof startWorld>[0],
): Promise<ConnectedWorld> {
  const w = await startWorld(opts);
  const f = new Sm8Fixtures(w.sm8);
  f.taxRate('GST', '10');
  const realm = (await w.connect(conn)).realmId;
  return { w, f, realm };
}
