/**
 * glibc malloc thresholds of a process that runs the native add-on. With glibc's dynamic thresholds, the large blocks
 * a tracked frame frees in bursts — onnxruntime-node copies every output into a fresh ArrayBuffer, which V8 frees at
 * its next GC together with the frames before — went back to the system and were faulted in again, frame after frame.
 * The onnx engine with its cross-correlation head in the add-on (a 406 KB features output per CPU-scale frame) ran its
 * backbone in 3.2–3.6 ms instead of 2.4–2.7 (≈ 100 K against 70–73 K page faults per 295 frames; reports/engines/README.md,
 * "Session 12"). Fixed thresholds keep freed blocks for reuse: allocations below 32 MB come from the heap, and up to
 * 64 MB of free memory at its top stays mapped — the price is that much memory kept after a peak.
 *
 * The user's own choice wins: `ROT_TRACK_MALLOC=default` keeps glibc's behaviour, and so does any of glibc's own
 * variables (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_) or GLIBC_TUNABLES being set.
 */

export const MMAP_THRESHOLD_BYTES = 32 * 2 ** 20;
export const TRIM_THRESHOLD_BYTES = 64 * 2 ** 20;

/** Why the thresholds are (not) set, for the registration report. */
export type MallocPolicy = { apply: true } | { apply: false; reason: string };

/** Whether to set the thresholds in a process with environment `env`. */
export function mallocPolicy(env: NodeJS.ProcessEnv = process.env): MallocPolicy {
  const v = env.ROT_TRACK_MALLOC;
  if (v != null && v !== '' && v !== 'fixed' && v !== 'default') {
    throw new Error(`ROT_TRACK_MALLOC: "fixed" or "default", got "${v}"`);
  }
  if (v === 'default') return { apply: false, reason: 'ROT_TRACK_MALLOC=default' };
  const own = ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'GLIBC_TUNABLES'].filter((k) => env[k] != null);
  if (own.length) return { apply: false, reason: `${own.join(', ')} set in the environment` };
  return { apply: true };
}

/** Applies the policy with the add-on's `mallocThresholds`; a description of what holds now. */
export function applyMallocPolicy(set: ((mmapBytes: number, trimBytes: number) => boolean) | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const p = mallocPolicy(env);
  if (!p.apply) return `glibc defaults (${p.reason})`;
  if (!set) return 'glibc defaults (the add-on predates mallocThresholds)';
  return set(MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES)
    ? `fixed thresholds (mmap ${MMAP_THRESHOLD_BYTES / 2 ** 20} MB, trim ${TRIM_THRESHOLD_BYTES / 2 ** 20} MB)`
    : 'allocator defaults (not glibc)';
}
