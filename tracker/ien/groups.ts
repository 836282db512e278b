/**
 * Feature-group specs of IEN (Implicitly Equivariant Networks) and their layout over a conv layer's channels.
 *
 * A spec names one group size Λ per block (`R4` = all groups of 4 channels; `R4-2-1` = a block of groups of 4, then a
 * block of groups of 2, then plain channels) and the channel ratio between the blocks. Applied to a channel count C it
 * gives contiguous blocks: block k holds `ratio[k] · C / Σratio` channels, split into groups of `sizes[k]` channels each
 * (group j of a block = its channels `j·Λ .. j·Λ+Λ−1`), as the reference code's `HeterogeneousChannelsMaxPool`
 * (github.com/transmuteAI/implicit-networks, models/utils.py) does. Unlike the reference (which floors and silently drops
 * leftover channels) a C that does not split exactly is an error.
 *
 * Default ratios follow the paper (Table 4 caption, §Heterogeneous IEN): half of the groups have the largest Λ, each
 * further block has half as many groups as the previous, the last block takes the remainder. This reproduces the ratios
 * of the reference code: R4-2-1 → 8:2:1, R8-4-2-1 → 32:8:2:1, R8-4-2 → 8:2:1.
 */

/** A feature-group pattern: group sizes per block and the channel ratio between blocks (positive integers). */
export interface GroupSpec {
  /** Canonical name, e.g. `R4`, `R4-2-1`. */
  readonly name: string;
  /** Group size Λ of each block, e.g. [4, 2, 1]. Λ = 1 is a plain channel (pooling is the identity). */
  readonly sizes: readonly number[];
  /** Channel ratio between the blocks, e.g. [8, 2, 1] (reduced: gcd 1). */
  readonly ratio: readonly number[];
}

/** One contiguous block of a layout: `channels` channels from `start`, as `groups` groups of `size` channels. */
export interface GroupBlock {
  readonly size: number;
  readonly start: number;
  readonly channels: number;
  readonly groups: number;
}

/** A spec applied to a channel count: blocks in channel order and the pooled channel count (Σ groups). */
export interface GroupLayout {
  readonly spec: GroupSpec;
  readonly channels: number;
  readonly blocks: readonly GroupBlock[];
  /** Channels after group pooling: one per group. */
  readonly pooledChannels: number;
}

/** Error thrown for an unknown spec name or a channel count the spec cannot split. */
export class GroupSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GroupSpecError';
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

function checkPositiveInts(what: string, xs: readonly number[]): void {
  if (xs.length === 0 || xs.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new GroupSpecError(`${what} must be a non-empty list of positive integers, got [${xs.join(', ')}]`);
  }
}

/** Paper's default ratio for sizes [Λ0, Λ1, ...]: group fractions 1/2, 1/4, ... with the last block the remainder. */
function defaultRatio(sizes: readonly number[]): number[] {
  const n = sizes.length;
  // group fraction × 2^(n−1): 2^(n−2−k) for k < n−1, 1 for the last block (integers)
  const r = sizes.map((s, k) => s * (k < n - 1 ? 2 ** (n - 2 - k) : 1));
  const g = r.reduce(gcd);
  return r.map((v) => v / g);
}

/**
 * Build a spec from group sizes and an optional channel ratio (default: the paper's halving rule). Sizes must be
 * distinct positive integers. `name` defaults to `R` + sizes joined by `-`.
 */
export function makeGroupSpec(sizes: readonly number[], ratio?: readonly number[], name?: string): GroupSpec {
  checkPositiveInts('group sizes', sizes);
  if (new Set(sizes).size !== sizes.length) {
    throw new GroupSpecError(`group sizes must be distinct, got [${sizes.join(', ')}]`);
  }
  let r = ratio ? [...ratio] : defaultRatio(sizes);
  checkPositiveInts('channel ratio', r);
  if (r.length !== sizes.length) {
    throw new GroupSpecError(`channel ratio [${r.join(', ')}] needs one entry per group size [${sizes.join(', ')}]`);
  }
  const g = r.reduce(gcd);
  r = r.map((v) => v / g);
  return { name: name ?? `R${sizes.join('-')}`, sizes: [...sizes], ratio: r };
}

/** Homogeneous spec `R<Λ>`: every group has Λ channels (Λ = 1: a plain CNN layer). */
export function homogeneousSpec(lambda: number): GroupSpec {
  return makeGroupSpec([lambda], [1]);
}

/**
 * Parse a spec name: `R<Λ>` (homogeneous, e.g. `R4`, `R8`, `R1`) or `R<Λ0>-<Λ1>-...` (heterogeneous, default ratio:
 * `R4-2-1` → sizes [4,2,1] ratio [8,2,1]; `R8-4-2-1` → [32,8,2,1]; `R8-4-2` → [8,2,1]). `CNN` is an alias of `R1`.
 * A GroupSpec passed in is returned unchanged.
 */
export function parseGroupSpec(spec: string | GroupSpec): GroupSpec {
  if (typeof spec !== 'string') return spec;
  const s = spec.trim();
  if (/^cnn$/i.test(s)) return homogeneousSpec(1);
  const m = /^R(\d+(?:-\d+)*)$/i.exec(s);
  if (!m) {
    throw new GroupSpecError(`unknown group spec "${spec}": expected R<n> or R<n>-<n>-... (e.g. R4, R8, R4-2-1, R8-4-2-1)`);
  }
  return makeGroupSpec(m[1].split('-').map(Number));
}

/** Smallest channel count the spec can split; every valid count is a multiple of it. */
export function channelStep(spec: GroupSpec | string): number {
  const sp = parseGroupSpec(spec);
  // unit u must make u·ratio[k] divisible by sizes[k] for every block
  const u = sp.sizes.map((s, k) => s / gcd(s, sp.ratio[k])).reduce(lcm, 1);
  return u * sp.ratio.reduce((a, b) => a + b, 0);
}

/**
 * Apply a spec to `channels` channels: contiguous blocks in spec order. Throws GroupSpecError naming the spec and the
 * count (with the nearest valid counts) when the count does not split into whole groups in the spec's ratio.
 */
export function applyGroupSpec(spec: GroupSpec | string, channels: number): GroupLayout {
  const sp = parseGroupSpec(spec);
  if (!Number.isInteger(channels) || channels < 1) {
    throw new GroupSpecError(`group spec ${sp.name}: channel count must be a positive integer, got ${channels}`);
  }
  const step = channelStep(sp);
  if (channels % step !== 0) {
    const lo = Math.floor(channels / step) * step;
    const near = lo > 0 ? `${lo} or ${lo + step}` : `${step}`;
    throw new GroupSpecError(
      `group spec ${sp.name} (sizes [${sp.sizes.join(', ')}], ratio ${sp.ratio.join(':')}) cannot split ${channels} ` +
        `channels into whole groups: needs a multiple of ${step} (nearest: ${near})`,
    );
  }
  const unit = channels / sp.ratio.reduce((a, b) => a + b, 0);
  const blocks: GroupBlock[] = [];
  let start = 0;
  for (let k = 0; k < sp.sizes.length; k++) {
    const n = sp.ratio[k] * unit;
    blocks.push({ size: sp.sizes[k], start, channels: n, groups: n / sp.sizes[k] });
    start += n;
  }
  return { spec: sp, channels, blocks, pooledChannels: blocks.reduce((a, b) => a + b.groups, 0) };
}

/** Largest group size of a spec (the Λ of the homogeneous spec it is compared with). */
export function maxGroupSize(spec: GroupSpec | string): number {
  return Math.max(...parseGroupSpec(spec).sizes);
}

/**
 * Channels a layout saves relative to the homogeneous spec of its largest Λ at the same pooled width:
 * e.g. R4-2-1 with 88 channels (32 pooled) vs R4 with 128 → saves 40 channels, fraction 0.3125 (the paper's "31%").
 */
export function channelSaving(layout: GroupLayout): { homogeneousChannels: number; saved: number; fraction: number } {
  const homogeneousChannels = layout.pooledChannels * maxGroupSize(layout.spec);
  const saved = homogeneousChannels - layout.channels;
  return { homogeneousChannels, saved, fraction: saved / homogeneousChannels };
}

/**
 * Channel count of `spec` with the same pooled width as the homogeneous spec of its largest Λ at `homogeneousWidth`
 * channels: `hetWidth('R4-2-1', 128) === 88` (method.md's Het-IEN widths 88,132,176,176,264,352 for R4
 * 128,192,256,256,384,512). Throws GroupSpecError when no exact width exists.
 */
export function hetWidth(spec: GroupSpec | string, homogeneousWidth: number): number {
  const sp = parseGroupSpec(spec);
  const lam = maxGroupSize(sp);
  if (!Number.isInteger(homogeneousWidth) || homogeneousWidth < 1 || homogeneousWidth % lam !== 0) {
    throw new GroupSpecError(`hetWidth(${sp.name}): R${lam} width must be a positive multiple of ${lam}, got ${homogeneousWidth}`);
  }
  const pooled = homogeneousWidth / lam;
  // pooled channels per ratio unit = Σ ratio[k] / sizes[k]; work in integers over L = lcm(sizes)
  const L = sp.sizes.reduce(lcm, 1);
  const pooledPerUnitL = sp.sizes.reduce((a, s, k) => a + (sp.ratio[k] * L) / s, 0);
  const unitNum = pooled * L;
  const sum = sp.ratio.reduce((a, b) => a + b, 0);
  if (unitNum % pooledPerUnitL !== 0) {
    throw new GroupSpecError(`hetWidth(${sp.name}): no channel count has exactly ${pooled} pooled channels (R${lam} width ${homogeneousWidth})`);
  }
  const width = (unitNum / pooledPerUnitL) * sum;
  const layout = applyGroupSpec(sp, width); // throws (naming spec and width) when the blocks do not split into groups
  if (layout.pooledChannels !== pooled) throw new GroupSpecError(`hetWidth(${sp.name}): internal pooled-width mismatch`);
  return width;
}

/** Layout summary for logs: `R4-2-1×88 [4×16 | 2×8 | 1×8] → 32`. */
export function describeLayout(layout: GroupLayout): string {
  const parts = layout.blocks.map((b) => `${b.size}×${b.groups}`).join(' | ');
  return `${layout.spec.name}×${layout.channels} [${parts}] → ${layout.pooledChannels}`;
}
