/**
 * Rotation and rescaling of small square grey images (MNIST digits) about their centre `((S − 1)/2, (S − 1)/2)`,
 * zero fill. Positive angles rotate counter-clockwise on screen, the sense of tracker/geometry.ts.
 */

/** Mirror an `S × S` uint8 image left–right (`out[y][x] = img[y][S − 1 − x]`). */
export function mirrorDigit(img: Uint8Array, S: number): Uint8Array {
  const out = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[y * S + x] = img[y * S + S - 1 - x];
  return out;
}

/** Rotate an `S × S` uint8 image by `theta` radians (counter-clockwise on screen), bilinear, zero fill. */
export function rotateDigit(img: Uint8Array, S: number, theta: number): Uint8Array {
  const out = new Uint8Array(S * S);
  const c = (S - 1) / 2;
  const cos = Math.cos(theta), sin = Math.sin(theta);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      // inverse map: the output pixel comes from the source point rotated by −θ (screen y grows downwards)
      const dx = x - c, dy = y - c;
      const sx = c + cos * dx - sin * dy;
      const sy = c + sin * dx + cos * dy;
      out[y * S + x] = Math.round(bilinear(img, S, S, sx, sy));
    }
  }
  return out;
}

function bilinear(img: Uint8Array, W: number, H: number, x: number, y: number): number {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  const at = (xx: number, yy: number) => (xx >= 0 && xx < W && yy >= 0 && yy < H ? img[yy * W + xx] : 0);
  return (
    (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))
  );
}

/** Keys' cubic convolution kernel with a = −0.5 (PIL's bicubic). */
function cubic(t: number): number {
  const a = -0.5;
  const x = Math.abs(t);
  if (x <= 1) return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1;
  if (x < 2) return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a;
  return 0;
}

/**
 * Rescale an `S × S` digit by factor `s` about its centre into an `outSize × outSize` canvas (the digit keeps its
 * pixel scale relative to the 28-px original when `outSize` is larger), bicubic, zero fill, clamped to 0–255.
 */
export function scaleDigit(img: Uint8Array, S: number, s: number, outSize = S): Uint8Array {
  const out = new Uint8Array(outSize * outSize);
  const cIn = (S - 1) / 2, cOut = (outSize - 1) / 2;
  const at = (xx: number, yy: number) => (xx >= 0 && xx < S && yy >= 0 && yy < S ? img[yy * S + xx] : 0);
  for (let y = 0; y < outSize; y++) {
    for (let x = 0; x < outSize; x++) {
      const sx = cIn + (x - cOut) / s, sy = cIn + (y - cOut) / s;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      let v = 0;
      for (let j = -1; j <= 2; j++) {
        const wy = cubic(sy - (y0 + j));
        if (wy === 0) continue;
        for (let i = -1; i <= 2; i++) v += wy * cubic(sx - (x0 + i)) * at(x0 + i, y0 + j);
      }
      out[y * outSize + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}
