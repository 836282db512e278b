/**
 * Inference cache of an expanded filter bank (GCNN / steerable layers): the bank is a differentiable function of the
 * base variables, recomputed on every training call and cached for inference. The cache is invalidated when any base
 * variable is assigned a new value (tfjs gives an assigned variable a new `dataId`), and released by `dispose()`.
 */
import { tf } from '../tf.js';
import type { Variable } from '../tf.js';

/** Cached `expand()` result keyed by the identity of the variables' current data. */
export class ExpandedFilterCache<T extends tf.Tensor> {
  private cached: T | null = null;
  private keys: unknown[] = [];

  constructor(private readonly vars: () => Variable[], private readonly expand: () => T) {}

  /** Fresh differentiable expansion (training; new tensor owned by the caller's tidy) or the cached one (inference). */
  get(training: boolean): T {
    if (training) return this.expand();
    const now = this.vars().map((v) => v.dataId);
    if (!this.cached || now.length !== this.keys.length || now.some((k, i) => k !== this.keys[i])) {
      this.clear();
      this.cached = tf.keep(tf.tidy(() => this.expand()));
      this.keys = now;
    }
    return this.cached;
  }

  /** True when an inference bank is held (counts as one tensor in `tf.memory()`). */
  get isCached(): boolean {
    return this.cached !== null;
  }

  /** Drop the cached bank (e.g. after loading weights in place). */
  clear(): void {
    this.cached?.dispose();
    this.cached = null;
    this.keys = [];
  }
}
