/**
 * One training step of a shipped model (or the paper-size AlexNet SiamFC with random weights) on random crops of the
 * training geometry, as training/train-tracker.ts runs it: `tf.variableGrads` over `stepLosses` with the model's own
 * training config (the IEN equivariance loss with its β, the optimiser). Shared by the step benchmarks
 * (profile-train-step.ts, train-step-cpu.ts).
 */
import { tf } from '../tracker/tf.js';
import { loadTracker } from '../tracker/node/load-tracker.js';
import { alexnetSpec } from '../tracker/backbone-spec.js';
import { Backbone } from '../tracker/backbones.js';
import { SiamFCNet } from '../tracker/siamfc.js';
import { parseTrainConfig } from '../training/config.js';
import { trainingGeometry, trainingLabels } from '../training/labels.js';
import { stepLosses } from '../training/objective.js';
import { createOptimizer, SgdMomentum } from '../training/optimizers.js';
import { configHooks } from '../training/train-tracker.js';
import { Rng } from '../training/rng.js';

export interface TrainStep {
  net: SiamFCNet;
  /** the hooks' names and the optimiser kind, for the benchmark's header line */
  hooks: string[];
  optimizer: string;
  geometry: ReturnType<typeof trainingGeometry>;
  /** one step: forward, backward, update, the loss read back */
  run(): void;
  dispose(): void;
}

/** `model`: a shipped tracker's name, or `alexnet` (the paper-size SiamFC, random weights, SGD as siamfc-pytorch). */
export async function trainStep(model: string, batch: number): Promise<TrainStep> {
  const loaded = model === 'alexnet'
    ? (() => { const n = new SiamFCNet(new Backbone(alexnetSpec(), 1)); return { net: n, manifest: null, dispose: () => n.dispose() }; })()
    : await loadTracker(model);
  const net = loaded.net;
  const cfg = loaded.manifest ? parseTrainConfig(loaded.manifest.provenance?.config ?? {}, `${model} provenance.config`) : null;
  const hooks = cfg ? configHooks(cfg) : [];
  const g = trainingGeometry(net.backbone.spec);
  const labels = trainingLabels(net.backbone.spec);
  const vars = net.backbone.trainableVariables();
  const opt = cfg ? createOptimizer(cfg.optimizer, vars) : new SgdMomentum(vars, 0.9, 5e-4);
  const z = tf.randomUniform([batch, g.exemplarSize, g.exemplarSize, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  const x = tf.randomUniform([batch, g.searchSize, g.searchSize, 3], 0, 255, 'float32', 2) as tf.Tensor4D;
  let step = 0;
  return {
    net,
    hooks: hooks.map((h) => h.name),
    optimizer: cfg?.optimizer.kind ?? 'sgd',
    geometry: g,
    run() {
      tf.tidy(() => {
        const rng = new Rng(step);
        const { value, grads } = tf.variableGrads(() => stepLosses(net, z, x, labels, hooks, step, rng).total, vars);
        opt.apply(vars.map((v) => grads[v.name] ?? tf.zerosLike(v)), 1e-4);
        value.dataSync();
      });
      step++;
    },
    dispose() {
      tf.dispose([z, x]);
      opt.dispose();
      loaded.dispose();
    },
  };
}
