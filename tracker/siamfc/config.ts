/**
 * SiamFC inference hyper-parameters, defaults from siamfc-pytorch (`TrackerSiamFC.parse_args`).
 */
import { z } from 'zod';

/** Inference hyper-parameters of the SiamFC tracker. Crop sizes come from the backbone spec. */
export const SiamFCConfig = z
  .object({
    /** Response scaling of the cross-correlation head (siamfc-pytorch `out_scale`). */
    outScale: z.number().positive().default(0.001),
    /** Context margin around the target: p = context · (w + h). */
    context: z.number().nonnegative().default(0.5),
    /** Number of scales searched per frame (odd). */
    scaleNum: z.number().int().positive().refine((n) => n % 2 === 1, 'scaleNum must be odd').default(3),
    scaleStep: z.number().positive().default(1.0375),
    scaleLr: z.number().min(0).max(1).default(0.59),
    scalePenalty: z.number().positive().max(1).default(0.9745),
    windowInfluence: z.number().min(0).max(1).default(0.176),
    /** Response upsampling factor (bicubic). */
    responseUp: z.number().int().positive().default(16),
    /**
     * Rotated templates (RE-SiamNets' rotated-template inference, for any backbone): T exemplars turned by 0, 360/T, …
     * degrees; each frame correlates the current one and its two neighbours with every scale and keeps the best, so
     * the template follows the target's orientation. 1 = plain SiamFC.
     */
    templates: z.number().int().min(1).max(64).default(1),
    /** Factor on the peak of a neighbouring template (as `scalePenalty` for scales): < 1 favours staying. */
    rotationPenalty: z.number().positive().max(1).default(0.9745),
  })
  .strict();

export type SiamFCConfig = z.infer<typeof SiamFCConfig>;
export type SiamFCConfigInput = z.input<typeof SiamFCConfig>;
