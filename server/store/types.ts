/**
 * What survives a restart: uploads and jobs as plain records behind one small async interface. SQLite
 * (`sqlite.ts`) implements it today; the interface is key → record with upserts and a full load at start, so a Redis
 * implementation (a hash per kind, JSON values) can stand in for it without the callers changing.
 */
import type { Box } from '../../tracker/geometry.js';
import type { JobResults, JobState, WireError } from '../protocol.js';
import type { VideoInfo } from '../video.js';

/** A stored upload (files in `<uploadDir>/<id>/`: `videoFile` and preview.jpg). Times are ms since the epoch. */
export interface UploadRecord {
  id: string;
  name: string;
  bytes: number;
  /** File name of the original inside the upload's folder (`source.mp4`). */
  videoFile: string;
  info: VideoInfo;
  playable: boolean;
  lastUsed: number;
}

/** A stored job: who owns it, its share key, its state and (once done) its results in `<uploadDir>/jobs/<id>/`. */
export interface JobRecord {
  id: string;
  uploadId: string;
  uploadName: string;
  model: string;
  box: Box;
  state: JobState;
  /** Session id of the client that started it. */
  owner: string;
  /** Unguessable key that lets anyone holding a link see the job and download its results. */
  key: string;
  total: number;
  done: number;
  fps: number;
  createdAt: number;
  finishedAt?: number;
  results?: JobResults;
  error?: WireError;
  warning?: string;
}

/** Everything recorded. */
export interface StoredState {
  uploads: UploadRecord[];
  jobs: JobRecord[];
}

/** The persistence interface (every write is an upsert by id). */
export interface StateStore {
  /** Everything recorded, for the restore at start. */
  load(): Promise<StoredState>;
  saveUpload(u: UploadRecord): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  saveJob(j: JobRecord): Promise<void>;
  deleteJob(id: string): Promise<void>;
  /** Release the database; later calls are errors. */
  close(): Promise<void>;
}
