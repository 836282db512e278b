// Entry of worker threads that run TypeScript: Node 20 does not apply the main thread's `--import tsx` loader to a
// worker's entry file, so this plain-JS entry registers tsx's ESM hooks and then imports the real (TypeScript) entry,
// given as `workerData.entry` (a file URL).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
