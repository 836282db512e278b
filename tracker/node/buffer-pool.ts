/**
 * The native-cpu backend's output buffers, reused instead of allocated per kernel call.
 *
 * Why: every native kernel wrote into a fresh `new Float32Array(n)`. A CPU-scale SiamFC training step allocates
 * ~35 MB that way in ~200 arrays, an IEN-SiamFC step ~170 MB in ~520: the JS thread zeroed all of it (calloc), and the
 * external-memory churn made V8 request a full mark-compact about every step — concurrent marking, sweeping and the
 * freeing of backing stores ran on the same two cores as the kernels' own threads (a `perf` profile of a 2-thread step:
 * ~13% of CPU in V8's GC, 4% in memset). Training shapes repeat every step, so arrays of an exact length come back.
 *
 * Safety: an array is recycled only when it is provably no longer visible anywhere:
 *  - it was taken here and became the values of exactly one tensor (`bind`, from the backend's `write`), as that very
 *    object, whole (not a view);
 *  - that tensor's data was disposed (`release`, from the backend's `disposeData` when the last reference went);
 *  - it never escaped: `readSync` / `read` (dataSync, data, arraySync, bufferSync: user code may keep the array), a
 *    second tensor written with the same buffer or a view of it (a kernel aliasing its input), or `move` mark its
 *    buffer escaped, and an escaped buffer is left to the garbage collector as before.
 * Arrays shorter than `minLength` are not pooled (V8 allocates those cheaply).
 *
 * `take` returns arrays with stale contents: callers must write every element (every native kernel does — those that
 * accumulate zero their output first in C++, and Pad fills its border). `ROT_TRACK_POOL_POISON=1` fills reused
 * arrays with NaN so a kernel that skips an element shows in the parity tests. `ROT_TRACK_POOL_MB` bounds the bytes
 * held for reuse (0 turns the pool off); the least recently returned lengths go first. The default, 2048 MB or an
 * eighth of the machine's memory if less, holds a whole AlexNet-×0.5 batch-8 step (~710 MB of outputs): at 512 MB
 * a third of its outputs were fresh arrays again, and the page faults of writing them made the 2-thread step ~30%
 * slower. The pool never holds more than was live at once, so peak RSS does not grow with the bound (940–975 MB at
 * 512 to 4,096 MB for that step); the bound matters only for shapes that keep changing.
 */

import { totalmem } from 'node:os';

type Owner = { array: Float32Array; dataId: object | null };

export interface PoolStats {
  /** arrays handed out from the free lists / newly allocated */
  hits: number;
  misses: number;
  /** arrays returned to the free lists / dropped because the pool was full */
  released: number;
  dropped: number;
  /** buffers that became visible outside the backend (never recycled) */
  escaped: number;
  /** bytes currently held for reuse */
  freeBytes: number;
}

export class Float32Pool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owners = new WeakMap<ArrayBufferLike, Owner>();
  private freeBytes = 0;
  private readonly counts = { hits: 0, misses: 0, released: 0, dropped: 0, escaped: 0 };

  constructor(
    private readonly capBytes: number,
    readonly minLength = 1024,
    private readonly poison = false,
  ) {}

  /** An array of `n` floats with unspecified contents (NaN under poison). */
  take(n: number): Float32Array {
    if (n < this.minLength || this.capBytes <= 0) return new Float32Array(n);
    const list = this.free.get(n);
    let a = list?.pop();
    if (a) {
      this.counts.hits++;
      this.freeBytes -= a.byteLength;
      if (list!.length === 0) this.free.delete(n);
      if (this.poison) a.fill(Number.NaN);
    } else {
      this.counts.misses++;
      a = new Float32Array(n);
    }
    this.owners.set(a.buffer, { array: a, dataId: null });
    return a;
  }

  /** A temporary taken with `take` that did not become a tensor: back to the free list. */
  giveBack(a: Float32Array): void {
    const o = this.owners.get(a.buffer);
    if (!o || o.array !== a || o.dataId !== null) return;
    this.owners.delete(a.buffer);
    this.keep(a);
  }

  /** `values` became the data of `dataId`: the first time for an array taken here binds it, anything else escapes. */
  bind(values: unknown, dataId: object): void {
    if (!ArrayBuffer.isView(values)) return;
    const o = this.owners.get(values.buffer);
    if (!o) return;
    if (o.dataId === null && o.array === values) o.dataId = dataId;
    else this.escapeBuffer(values.buffer);
  }

  /** `values` may be kept by code outside the backend: never recycle its buffer. */
  escape(values: unknown): void {
    if (ArrayBuffer.isView(values)) this.escapeBuffer(values.buffer);
  }

  /** The data of `dataId` (whose values were `values`) was disposed. */
  release(values: unknown, dataId: object): void {
    if (!(values instanceof Float32Array)) return;
    const o = this.owners.get(values.buffer);
    if (!o || o.array !== values || o.dataId !== dataId) return;
    this.owners.delete(values.buffer);
    this.keep(values);
  }

  stats(): PoolStats {
    return { ...this.counts, freeBytes: this.freeBytes };
  }

  private escapeBuffer(buffer: ArrayBufferLike): void {
    if (this.owners.delete(buffer)) this.counts.escaped++;
  }

  private keep(a: Float32Array): void {
    if (a.byteLength > this.capBytes) {
      this.counts.dropped++;
      return;
    }
    const n = a.length;
    const list = this.free.get(n) ?? [];
    // re-insert the length last: Map order is then least recently returned first, which evict() drops first
    this.free.delete(n);
    list.push(a);
    this.free.set(n, list);
    this.freeBytes += a.byteLength;
    this.counts.released++;
    this.evict();
  }

  private evict(): void {
    for (const [n, list] of this.free) {
      if (this.freeBytes <= this.capBytes) break;
      while (list.length > 0 && this.freeBytes > this.capBytes) {
        this.freeBytes -= list.pop()!.byteLength;
        this.counts.dropped++;
      }
      if (list.length === 0) this.free.delete(n);
    }
  }
}

function poolBytesFromEnv(): number {
  const raw = process.env.ROT_TRACK_POOL_MB;
  if (raw === undefined || raw === '') return Math.min(2048 * 2 ** 20, Math.floor(totalmem() / 8));
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) {
    throw new Error(`ROT_TRACK_POOL_MB="${raw}": expected a number of megabytes ≥ 0 (0 turns the output pool off)`);
  }
  return mb * 2 ** 20;
}

/** The pool of the native-cpu backend's kernel outputs. */
export const outputPool = new Float32Pool(poolBytesFromEnv(), 1024, process.env.ROT_TRACK_POOL_POISON === '1');
