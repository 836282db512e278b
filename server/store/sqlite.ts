/**
 * StateStore on an embedded SQLite file through better-sqlite3 (Node 20 has no `node:sqlite`, which needs 22.5+).
 * WAL journal: every save is committed before the call returns, so a `kill -9` loses nothing already saved.
 * Records are JSON in one column beside their id (the same shape a Redis hash would hold).
 */
import Database from 'better-sqlite3';
import type { JobRecord, StateStore, StoredState, UploadRecord } from './types.js';

/** Open (and create) the database at `file`. */
export function openSqliteStore(file: string): StateStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS uploads (id TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, record TEXT NOT NULL);
  `);
  const put = (table: 'uploads' | 'jobs') => db.prepare(`INSERT INTO ${table} (id, record) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET record = excluded.record`);
  const del = (table: 'uploads' | 'jobs') => db.prepare(`DELETE FROM ${table} WHERE id = ?`);
  const all = (table: 'uploads' | 'jobs') => db.prepare(`SELECT record FROM ${table}`);
  const stmts = {
    putUpload: put('uploads'), putJob: put('jobs'), delUpload: del('uploads'), delJob: del('jobs'),
    allUploads: all('uploads'), allJobs: all('jobs'),
  };
  const rows = <T>(s: Database.Statement): T[] => (s.all() as { record: string }[]).map((r) => JSON.parse(r.record) as T);
  return {
    load: async (): Promise<StoredState> => ({ uploads: rows<UploadRecord>(stmts.allUploads), jobs: rows<JobRecord>(stmts.allJobs) }),
    saveUpload: async (u) => void stmts.putUpload.run(u.id, JSON.stringify(u)),
    deleteUpload: async (id) => void stmts.delUpload.run(id),
    saveJob: async (j) => void stmts.putJob.run(j.id, JSON.stringify(j)),
    deleteJob: async (id) => void stmts.delJob.run(id),
    close: async () => void db.close(),
  };
}
