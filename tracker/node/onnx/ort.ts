/**
 * onnxruntime-node, loaded on demand (it is an optional dependency): `loadOrt()` says why it cannot load instead of
 * throwing, and `OrtSession` runs a model synchronously on the CPU execution provider.
 *
 * Synchronous runs: the tracker's `update()` is synchronous (the Tracker interface), and onnxruntime-node's public
 * `InferenceSession.run` only wraps its native binding's synchronous `run` in `setImmediate` + a Promise
 * (onnxruntime-node/dist/backend.js). We call that binding (`onnxruntime-node/dist/binding.js`, the same object the
 * package uses) directly, with the package's own `Tensor` class. Checked against onnxruntime-node 1.30.0.
 */
import { createRequire } from 'node:module';

/** The parts of onnxruntime-common's Tensor we use. */
export interface OrtTensor {
  readonly data: Float32Array | BigInt64Array | Int32Array;
  readonly dims: readonly number[];
  readonly type: string;
}

interface OrtTensorCtor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor;
}

interface BindingSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: { name: string }[];
  readonly outputMetadata: { name: string }[];
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>, options: object): Record<string, OrtTensor>;
  endProfiling(): void;
  dispose(): void;
}

interface OrtModules {
  Tensor: OrtTensorCtor;
  version: string;
  newSession(): BindingSession;
}

export type OrtLoad = { ok: true; version: string } | { ok: false; reason: string };

let cached: { mods: OrtModules | null; result: OrtLoad } | null = null;

/** Load onnxruntime-node once; `{ ok: false, reason }` when it is not installed or its binary does not load. */
export function loadOrt(): OrtLoad {
  if (cached) return cached.result;
  const require = createRequire(import.meta.url);
  try {
    const ort = require('onnxruntime-node') as { Tensor: OrtTensorCtor; env: { versions: { node?: string } } };
    const b = require('onnxruntime-node/dist/binding.js') as {
      binding: { InferenceSession: new () => BindingSession };
      initOrt: () => void;
    };
    b.initOrt();
    const version = ort.env.versions.node ?? 'unknown';
    const mods: OrtModules = { Tensor: ort.Tensor, version, newSession: () => new b.binding.InferenceSession() };
    cached = { mods, result: { ok: true, version } };
  } catch (e) {
    const first = String((e as Error)?.message ?? e).split('\n')[0];
    cached = { mods: null, result: { ok: false, reason: `onnxruntime-node cannot load: ${first}` } };
  }
  return cached.result;
}

function modules(): OrtModules {
  const r = loadOrt();
  if (!r.ok || !cached?.mods) throw new Error(r.ok ? 'onnxruntime-node: not loaded' : r.reason);
  return cached.mods;
}

/** An ort float32 tensor over `data` (no copy). */
export function ortTensor(data: Float32Array, dims: readonly number[]): OrtTensor {
  return new (modules().Tensor)('float32', data, dims);
}

/** Options of an `OrtSession`. */
export interface OrtSessionOptions {
  /** Intra-op threads (default 1). */
  threads?: number;
  /**
   * Let idle intra-op threads spin (onnxruntime's default). Off by default here: on a shared or oversubscribed CPU
   * (eval workers, training next door) spinning threads steal the cores the work needs — measured on this 2-core
   * machine under load ~9: search run median 16.6 ms spinning vs 4.0 ms not (reports/engines/README.md).
   */
  spin?: boolean;
  /** Write onnxruntime's per-node profile (JSON) to `<profilePrefix>_<date>.json` when `endProfiling()` is called. */
  profilePrefix?: string;
}

/** A model loaded into onnxruntime (CPU execution provider, sequential execution, all graph optimisations). */
export class OrtSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  private session: BindingSession | null;

  /** `where` names the model (a file path or a description) in every error. */
  constructor(bytes: Uint8Array, readonly where: string, opts: OrtSessionOptions = {}) {
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`${where}: intra-op threads must be a positive integer, got ${threads}`);
    const s = modules().newSession();
    try {
      s.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, {
        executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
        graphOptimizationLevel: 'all', executionMode: 'sequential',
        extra: { session: { intra_op: { allow_spinning: opts.spin ? '1' : '0' } } },
        ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
      });
    } catch (e) {
      throw new Error(`${where}: onnxruntime cannot load the model: ${(e as Error).message}`);
    }
    this.session = s;
    this.inputNames = s.inputMetadata.map((m) => m.name);
    this.outputNames = s.outputMetadata.map((m) => m.name);
  }

  /** Run synchronously; `outputs` defaults to all outputs. */
  run(feeds: Record<string, OrtTensor>, outputs: string[] = this.outputNames): Record<string, OrtTensor> {
    if (!this.session) throw new Error(`${this.where}: session was disposed`);
    for (const n of this.inputNames) if (!(n in feeds)) throw new Error(`${this.where}: missing input "${n}"`);
    const fetches: Record<string, null> = {};
    for (const o of outputs) fetches[o] = null;
    try {
      return this.session.run(feeds, fetches, {});
    } catch (e) {
      throw new Error(`${this.where}: run failed: ${(e as Error).message}`);
    }
  }

  /** Stop profiling and write the profile file (only with `profilePrefix`). */
  endProfiling(): void {
    this.session?.endProfiling();
  }

  dispose(): void {
    this.session?.dispose();
    this.session = null;
  }
}
