/**
 * Milliseconds since the epoch with sub-millisecond resolution (`performance.timeOrigin + performance.now()`), the
 * clock of `JobFrame.t`. `Date.now()` counts whole milliseconds, too coarse for box latencies of 0.2–3 ms; this one is
 * comparable across processes of one machine (each process's origin is read from the same system clock).
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
