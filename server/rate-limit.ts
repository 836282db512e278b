/**
 * Per-client rate limiting with token buckets: each key holds up to `burst` tokens, refilled at `ratePerSec`; a
 * request takes one token or is refused. Idle buckets are forgotten so memory stays bounded.
 */

interface Bucket {
  tokens: number;
  last: number;
}

/** Token buckets keyed by client (IP address, socket id). */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;

  /** `ratePerSec` tokens per second, at most `burst` stored; `now` is injectable for tests (milliseconds). */
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    maxKeys = 10_000,
  ) {
    if (!(ratePerSec > 0) || !(burst >= 1)) throw new Error(`token bucket needs rate > 0 and burst >= 1, got ${ratePerSec}, ${burst}`);
    this.maxKeys = maxKeys;
  }

  /** Take one token for `key`; false when the bucket is empty (the caller refuses the request). */
  take(key: string): boolean {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.prune(t);
      b = { tokens: this.burst, last: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.last) / 1000) * this.ratePerSec);
    b.last = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forget `key` (a socket that disconnected). */
  delete(key: string): void {
    this.buckets.delete(key);
  }

  /** Number of keys held. */
  get size(): number {
    return this.buckets.size;
  }

  /** Drop full buckets (they behave exactly like new ones); if none are full, drop the oldest. */
  private prune(t: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.last) / 1000) * this.ratePerSec >= this.burst) this.buckets.delete(k);
    }
    if (this.buckets.size >= this.maxKeys) {
      const first = this.buckets.keys().next();
      if (!first.done) this.buckets.delete(first.value);
    }
  }
}
