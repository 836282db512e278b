/**
 * Rotated exemplar templates for SiamFC's orientation search (the rotated-template inference of RE-SiamNets,
 * Gupta et al. CVPR 2021, offered to every backbone): the exemplar is cropped once with a margin large enough for any
 * angle (`marginSide`), then each template is the central `E × E` window of that crop turned by its angle, sampled
 * bilinearly. The pixel pitch is the plain exemplar's, so the template at 0° samples the same image area. Browser-safe.
 */

/** Side in pixels of a crop from which an `E × E` window can be turned by any angle without leaving it:
 * ≥ E·√2 + 2, with E's parity so that the 0° window sits on whole pixels. */
export function marginSide(E: number): number {
  const s = Math.ceil(E * Math.SQRT2) + 2;
  return (s - E) % 2 === 0 ? s : s + 1;
}

/** Angles in degrees of `count` templates evenly spaced over a full turn: 0, 360/count, … */
export function templateAngles(count: number): number[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`templates: a positive integer is needed, got ${count}`);
  return Array.from({ length: count }, (_, t) => (360 * t) / count);
}

/**
 * Write one `E × E × 3` template per angle into a new Float32Array `[angles.length, E, E, 3]` (NHWC, 0–255), from
 * `src` `[S, S, 3]` (S = `marginSide(E)`). Template t shows the content of `src` turned counter-clockwise on screen
 * by `angles[t]` degrees about the crop centre.
 */
export function rotatedTemplates(src: Float32Array, S: number, E: number, angles: readonly number[]): Float32Array {
  if (src.length !== S * S * 3) throw new Error(`rotatedTemplates: source has ${src.length} values, ${S}×${S}×3 expected`);
  if (S < E * Math.SQRT2 + 1) throw new Error(`rotatedTemplates: a ${S}-pixel source is too small for ${E}-pixel templates at any angle`);
  const per = E * E * 3;
  const out = new Float32Array(per * angles.length);
  const cS = (S - 1) / 2;
  const cE = (E - 1) / 2;
  angles.forEach((deg, t) => {
    const th = (deg * Math.PI) / 180;
    // screen coordinates (y down): a counter-clockwise turn of the content by θ samples the source at R(θ)·p
    const c = Math.cos(th);
    const s = Math.sin(th);
    let o = t * per;
    for (let y = 0; y < E; y++) {
      const dy = y - cE;
      for (let x = 0; x < E; x++, o += 3) {
        const dx = x - cE;
        const sx = cS + c * dx - s * dy;
        const sy = cS + s * dx + c * dy;
        const x0 = Math.min(S - 2, Math.max(0, Math.floor(sx)));
        const y0 = Math.min(S - 2, Math.max(0, Math.floor(sy)));
        const fx = sx - x0;
        const fy = sy - y0;
        const i00 = (y0 * S + x0) * 3;
        const i01 = i00 + 3;
        const i10 = i00 + S * 3;
        const i11 = i10 + 3;
        for (let ch = 0; ch < 3; ch++) {
          const top = src[i00 + ch] + (src[i01 + ch] - src[i00 + ch]) * fx;
          const bot = src[i10 + ch] + (src[i11 + ch] - src[i10 + ch]) * fx;
          out[o + ch] = top + (bot - top) * fy;
        }
      }
    }
  });
  return out;
}
