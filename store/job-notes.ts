/**
 * Job-diary notes the sync wrote in ServiceM8 (INV-3, table `job_notes`): one per job and note key, so a
 * reason or event is noted once however often it recurs.
 */
import type { Pool, PoolClient } from 'pg';

type Db = Pool | PoolClient;

export async function jobNoteWritten(
  db: Db,
  connectionId: string,
  jobUuid: string,
  noteKey: string,
): Promise<boolean> {
  const done = await db.query(
    'SELECT 1 FROM job_notes WHERE connection_id = $1 AND job_uuid = $2 AND note_key = $3',
    [connectionId, jobUuid, noteKey],
  );
  return Boolean(done.rowCount);
}

export async function recordJobNote(
  db: Db,
  note: { connectionId: string; jobUuid: string; noteKey: string; noteUuid: string },
): Promise<void> {
  await db.query(
    `INSERT INTO job_notes (connection_id, job_uuid, note_key, note_uuid) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING`,
    [note.connectionId, note.jobUuid, note.noteKey, note.noteUuid],
  );
}
