/**
 * Start-up sweep of the upload folder: whatever no stored upload or job owns is deleted (half-written uploads in
 * `incoming/`, folders of uploads and jobs the database does not know), so no file is left unowned after a crash.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PARTS_DIR } from '../track-job.js';

/** What the sweep keeps: folder names of uploads under `root`, of jobs under `jobsDir`, and other entries of `root`. */
export interface SweepKeep {
  uploads: ReadonlySet<string>;
  jobs: ReadonlySet<string>;
  /** Entries of `root` that are not uploads (the jobs folder, incoming/, the database files). */
  fixed: ReadonlySet<string>;
}

/** Delete unowned entries of `root`, `root/incoming` and `jobsDir`; returns the paths removed. */
export async function sweepOrphans(root: string, jobsDir: string, incomingDir: string, keep: SweepKeep): Promise<string[]> {
  const removed: string[] = [];
  const sweep = async (dir: string, owned: (name: string) => boolean) => {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (owned(name)) continue;
      const p = path.join(dir, name);
      await rm(p, { recursive: true, force: true });
      removed.push(p);
    }
  };
  await sweep(root, (n) => keep.fixed.has(n) || keep.uploads.has(n));
  // the folder of unfinished result files stays (jobs write into it concurrently); what is in it at start is stale
  await sweep(jobsDir, (n) => keep.jobs.has(n) || n === PARTS_DIR);
  await sweep(path.join(jobsDir, PARTS_DIR), () => false);
  await sweep(incomingDir, () => false);
  return removed;
}
