/**
 * The native add-on's environment switches, checked before the add-on loads. Its C++ reads ROT_TRACK_CONV,
 * ROT_TRACK_GEMM, ROT_TRACK_SPIN_US, ROT_TRACK_NET_SPLIT, ROT_TRACK_WINO_GROUPS, ROT_TRACK_TRAIN_WINO and ROT_TRACK_PIN once, and took an unknown value for its default without a word (a typo such as
 * ROT_TRACK_CONV=dnn ran "auto" and measured something else than asked); ROT_TRACK_THREADS fell back to every core.
 * Here a bad value is an error that names the variable, the value and what it takes. Unset or empty: the default.
 */

/** Each switch: what it takes, for the message, and whether a value is one of them. */
const SWITCHES: Readonly<Record<string, { takes: string; ok: (v: string) => boolean }>> = {
  // src/dnnl_conv.h: which convs run oneDNN's primitives
  ROT_TRACK_CONV: { takes: 'auto, dnnl, dnnl-forward or im2col', ok: (v) => ['auto', 'dnnl', 'dnnl-forward', 'im2col'].includes(v) },
  // src/gemm.h: oneDNN's sgemm (default) or the system BLAS
  ROT_TRACK_GEMM: { takes: 'dnnl or openblas', ok: (v) => v === 'dnnl' || v === 'openblas' },
  // src/pool.h: µs an idle worker spins before it sleeps
  ROT_TRACK_SPIN_US: { takes: 'a whole number of microseconds ≥ 0', ok: (v) => /^\d+$/.test(v) && Number(v) <= 2 ** 31 - 1 },
  // src/net.cc: 3 crops on 2 threads split at the first Winograd conv (1, default) or as 1 + 2 whole crops (0)
  ROT_TRACK_NET_SPLIT: { takes: '0 or 1', ok: (v) => v === '0' || v === '1' },
  // src/net.cc: grouped 3×3 stride-1 convs as one Winograd conv per group (1, default) or oneDNN's grouped direct conv (0)
  ROT_TRACK_WINO_GROUPS: { takes: '0 or 1', ok: (v) => v === '0' || v === '1' },
  // src/dnnl_conv.h: the training convs' large 3×3 stride-1 convs on Winograd (1, default) or the direct kernels (0)
  ROT_TRACK_TRAIN_WINO: { takes: '0 or 1', ok: (v) => v === '0' || v === '1' },
  // src/pool.h: the workers pinned to CPUs and a caller held off them while it runs a job (all, default), only the
  // workers pinned (workers), or nothing (none)
  ROT_TRACK_PIN: { takes: 'none, workers or all', ok: (v) => ['none', 'workers', 'all'].includes(v) },
  // native-backend.ts defaultNativeThreads: the add-on's threads
  ROT_TRACK_THREADS: { takes: 'a whole number ≥ 1', ok: (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 4096 },
};

/** What is wrong with the add-on's switches in `env` (one line naming the variable), or null when nothing is. */
export function nativeEnvProblem(env: Readonly<Record<string, string | undefined>>): string | null {
  for (const [name, s] of Object.entries(SWITCHES)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!s.ok(v)) return `${name}=${JSON.stringify(v)}: expected ${s.takes} (or unset for the default)`;
  }
  return null;
}
