/**
 * SGD with momentum and Adam in PyTorch's conventions, with weight decay applied explicitly (added to the gradient,
 * as `torch.optim.SGD(weight_decay=…)` and `torch.optim.Adam(weight_decay=…)` do) and with their state exposed as
 * named tensors so that a checkpoint can save and restore it exactly. Our own rather than tf.train's because tfjs
 * names optimizer slots after global variable names, which differ between processes.
 */
import { tf } from '../tracker/tf.js';
import type { Tensor, Variable } from '../tracker/tf.js';
import type { OptimizerConfig } from './config.js';
import { ownVariable } from '../tracker/batchnorm.js';
import { ADAM_KERNEL, SGD_KERNEL, hasFusedKernel, runFused } from '../tracker/fused-kernels.js';

/** An optimiser over a fixed, ordered list of variables. */
export interface Optimizer {
  /** Apply one update with `grads[i]` for `vars[i]` at learning rate `lr`. Does not dispose `grads`. */
  apply(grads: readonly Tensor[], lr: number): void;
  /** State tensors with stable names (`m/3`, `v/3`, `t`…); owned by the optimiser. */
  state(): { name: string; tensor: Tensor }[];
  /** Restore the state saved by `state()`; throws naming a missing or mis-shaped entry. */
  setState(tensors: Record<string, Tensor>, where: string): void;
  dispose(): void;
}

function zerosLike(vars: readonly Variable[]): Variable[] {
  // tf.variable keeps a reference to the initial tensor's data: release the temporary so nothing leaks
  return vars.map((v) => ownVariable(tf.zerosLike(v), false));
}

function restore(slot: Variable[], prefix: string, tensors: Record<string, Tensor>, where: string): void {
  slot.forEach((s, i) => {
    const t = tensors[`${prefix}/${i}`];
    if (!t) throw new Error(`${where}: optimizer state "${prefix}/${i}" is missing`);
    if (t.shape.join(',') !== s.shape.join(',')) {
      throw new Error(`${where}: optimizer state "${prefix}/${i}" has shape [${t.shape}], expected [${s.shape}]`);
    }
    s.assign(t);
  });
}

/** SGD with momentum μ: v ← μ·v + (g + λ·w); w ← w − lr·v (torch.optim.SGD, dampening 0, no Nesterov). */
export class SgdMomentum implements Optimizer {
  private readonly velocity: Variable[];

  constructor(private readonly vars: readonly Variable[], private readonly momentum: number, private readonly weightDecay: number) {
    this.velocity = zerosLike(vars);
  }

  apply(grads: readonly Tensor[], lr: number): void {
    // The backend's fused kernel (one pass per variable, same float32 roundings) when it has one, else the op chain.
    const fused = hasFusedKernel(SGD_KERNEL);
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        if (fused && w.dtype === 'float32' && grads[i].dtype === 'float32') {
          const [w2, v2] = runFused(SGD_KERNEL, { w, g: grads[i], vel: this.velocity[i] },
            { lr, momentum: this.momentum, weightDecay: this.weightDecay });
          this.velocity[i].assign(v2);
          w.assign(w2);
          return;
        }
        const g = this.weightDecay ? tf.add(grads[i], tf.mul(w, this.weightDecay)) : grads[i];
        const v = tf.add(tf.mul(this.velocity[i], this.momentum), g);
        this.velocity[i].assign(v);
        w.assign(tf.sub(w, tf.mul(v, lr)));
      });
    });
  }

  state(): { name: string; tensor: Tensor }[] {
    return this.velocity.map((v, i) => ({ name: `velocity/${i}`, tensor: v }));
  }

  setState(tensors: Record<string, Tensor>, where: string): void {
    restore(this.velocity, 'velocity', tensors, where);
  }

  dispose(): void {
    tf.dispose(this.velocity);
  }
}

/** Adam (torch.optim.Adam, L2 weight decay added to the gradient, bias-corrected moments). */
export class Adam implements Optimizer {
  private readonly m: Variable[];
  private readonly v: Variable[];
  private readonly t: Variable;

  constructor(
    private readonly vars: readonly Variable[],
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly epsilon: number,
    private readonly weightDecay: number,
  ) {
    this.m = zerosLike(vars);
    this.v = zerosLike(vars);
    this.t = ownVariable(tf.scalar(0), false);
  }

  apply(grads: readonly Tensor[], lr: number): void {
    const t = this.t.dataSync()[0] + 1;
    const c1 = 1 - Math.pow(this.beta1, t);
    const c2 = 1 - Math.pow(this.beta2, t);
    const fused = hasFusedKernel(ADAM_KERNEL);
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        if (fused && w.dtype === 'float32' && grads[i].dtype === 'float32') {
          const [w2, m2, v2] = runFused(ADAM_KERNEL, { w, g: grads[i], m: this.m[i], v: this.v[i] },
            { lr, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: this.weightDecay, c1, c2 });
          this.m[i].assign(m2);
          this.v[i].assign(v2);
          w.assign(w2);
          return;
        }
        const g = this.weightDecay ? tf.add(grads[i], tf.mul(w, this.weightDecay)) : grads[i];
        const m = tf.add(tf.mul(this.m[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const denom = tf.add(tf.sqrt(tf.div(v, c2)), this.epsilon);
        w.assign(tf.sub(w, tf.mul(tf.div(m, denom), lr / c1)));
      });
      this.t.assign(tf.scalar(t));
    });
  }

  state(): { name: string; tensor: Tensor }[] {
    return [
      { name: 't', tensor: this.t },
      ...this.m.map((x, i) => ({ name: `m/${i}`, tensor: x })),
      ...this.v.map((x, i) => ({ name: `v/${i}`, tensor: x })),
    ];
  }

  setState(tensors: Record<string, Tensor>, where: string): void {
    const t = tensors['t'];
    if (!t) throw new Error(`${where}: optimizer state "t" is missing`);
    tf.tidy(() => this.t.assign(tf.reshape(t, [])));
    restore(this.m, 'm', tensors, where);
    restore(this.v, 'v', tensors, where);
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v, this.t]);
  }
}

/** The optimiser a config names, over `vars` (order matters for the saved state). */
export function createOptimizer(cfg: OptimizerConfig, vars: readonly Variable[]): Optimizer {
  if (cfg.kind === 'sgd') return new SgdMomentum(vars, cfg.momentum, cfg.weightDecay);
  return new Adam(vars, cfg.beta1, cfg.beta2, cfg.epsilon, cfg.weightDecay);
}
