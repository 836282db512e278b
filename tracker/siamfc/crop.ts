/**
 * SiamFC crops: square patches centred on the target, padded with the image's average colour and resized, sampled
 * exactly where siamfc-pytorch's `crop_and_resize` (round the size, round the corners, pad, `cv2.resize` bilinear)
 * samples them, but in one `tf.image.cropAndResize` call for all scales.
 */
import { tf } from '../tf.js';
import type { Tensor1D, Tensor3D, Tensor4D } from '../tf.js';

export { cropBox, roundHalfEven, type CropRequest } from './crop-box.js';
import { type CropRequest, cropBox } from './crop-box.js';

/**
 * Crop square patches from `image` (`[H, W, 3]` float32, 0–255) and resize each to `outSize × outSize`.
 * Pixels outside the image take `avgColor` (`[3]` float32). Returns `[N, outSize, outSize, 3]` float32.
 * Sampling follows cv2.resize's half-pixel mapping `src = (dst + 0.5)·size/out − 0.5` inside the patch whose
 * left-top corner is `round(centre − (size − 1)/2)` with `size = round(size)`.
 */
export function cropPatches(image: Tensor3D, avgColor: Tensor1D, crops: CropRequest[], outSize: number): Tensor4D {
  const [H, W] = image.shape;
  const boxes = crops.map((c) => cropBox(H, W, c, outSize));
  return tf.tidy(() => {
    // Samples outside the image take the extrapolation value 0 of the mean-subtracted image, i.e. the mean colour.
    const centred = tf.expandDims(tf.sub(image, avgColor), 0) as Tensor4D;
    const patches = tf.image.cropAndResize(
      centred,
      tf.tensor2d(boxes, [boxes.length, 4]),
      tf.zeros([boxes.length], 'int32'),
      [outSize, outSize],
      'bilinear',
      0,
    );
    return tf.add(patches, avgColor) as Tensor4D;
  });
}
