/**
 * SiamFC (Bertinetto et al. 2016), inference side: the network (backbone + cross-correlation head), the tracker and
 * its hyper-parameters. Training lives in training/.
 */
export { SiamFCNet, type FeatureExtractor } from './siamfc/network.js';
export { SiamFCTracker } from './siamfc/tracker.js';
export { SiamFCConfig, type SiamFCConfigInput } from './siamfc/config.js';
export { cropPatches, roundHalfEven, type CropRequest } from './siamfc/crop.js';
