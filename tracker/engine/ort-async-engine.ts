/**
 * The asynchronous engine over onnxruntime's public JavaScript API (`InferenceSession.create` / `run`), which
 * onnxruntime-web (browser: wasm, WebGPU) and onnxruntime-node share: the module is passed in, so this file imports
 * neither and stays browser-safe. The exported models (onnx-export.ts): `exemplar` x → kernel once per init, `search`
 * x + kernel → response once per frame; the kernel stays an ort tensor between frames.
 */
import type { SiamFCGeometry } from '../siamfc/core.js';
import { type ExemplarFeatures, checkExemplarCrop, checkSearchCrops } from './engine-types.js';
import type { AsyncSiamFCEngine } from './async-tracker.js';

/** The parts of an onnxruntime tensor the engine reads. */
export interface OrtApiTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}

/** The parts of an onnxruntime InferenceSession the engine uses. */
export interface OrtApiSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtApiTensor>): Promise<Record<string, OrtApiTensor>>;
  release(): Promise<void>;
}

/** The parts of the `onnxruntime-web` / `onnxruntime-node` module the engine uses. */
export interface OrtApi {
  InferenceSession: { create(model: Uint8Array, options?: object): Promise<OrtApiSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtApiTensor;
}

class OrtKernel implements ExemplarFeatures {
  constructor(public kernel: OrtApiTensor | null) {}
  dispose(): void {
    this.kernel = null;
  }
}

/** What `OrtAsyncEngine.create` needs besides the model bytes. */
export interface OrtAsyncEngineOptions {
  /** Session options passed to both sessions (execution providers, optimisation level…). */
  sessionOptions?: object;
  /** For the description, e.g. `onnxruntime-web 1.30.0 (wasm, SIMD, 2 threads)`. */
  description: string;
  /** Names the models in errors, e.g. the URL they came from. */
  where: string;
}

/** SiamFC's two networks on an onnxruntime session pair (see the file comment). */
export class OrtAsyncEngine implements AsyncSiamFCEngine {
  private searchInput: { data: Float32Array; k: number; tensor: OrtApiTensor } | null = null;

  private constructor(
    private readonly ort: OrtApi,
    private readonly exemplarSession: OrtApiSession,
    private readonly searchSession: OrtApiSession,
    readonly geometry: SiamFCGeometry,
    readonly description: string,
    private readonly where: string,
  ) {}

  /** Load both models; errors name the model (`where`) and what is wrong with it. */
  static async create(ort: OrtApi, exemplar: Uint8Array, search: Uint8Array, geometry: SiamFCGeometry, opts: OrtAsyncEngineOptions): Promise<OrtAsyncEngine> {
    const load = async (bytes: Uint8Array, which: string, inputs: string[], output: string): Promise<OrtApiSession> => {
      let s: OrtApiSession;
      try {
        s = await ort.InferenceSession.create(bytes, opts.sessionOptions ?? {});
      } catch (e) {
        throw new Error(`${opts.where} (${which} model): onnxruntime cannot load it: ${(e as Error).message}`);
      }
      const missing = inputs.filter((n) => !s.inputNames.includes(n));
      if (missing.length || !s.outputNames.includes(output)) {
        await s.release();
        throw new Error(`${opts.where} (${which} model): expected inputs ${inputs.join(', ')} and output ${output}, ` +
          `got inputs ${s.inputNames.join(', ') || '(none)'} and outputs ${s.outputNames.join(', ') || '(none)'}`);
      }
      return s;
    };
    const e = await load(exemplar, 'exemplar', ['x'], 'kernel');
    let s: OrtApiSession;
    try {
      s = await load(search, 'search', ['x', 'kernel'], 'response');
    } catch (err) {
      await e.release();
      throw err;
    }
    return new OrtAsyncEngine(ort, e, s, geometry, opts.description, opts.where);
  }

  async exemplar(crop: Float32Array): Promise<ExemplarFeatures> {
    const E = this.geometry.exemplarSize;
    checkExemplarCrop(this.where, crop, E);
    const out = await this.exemplarSession.run({ x: new this.ort.Tensor('float32', crop, [1, E, E, 3]) });
    return new OrtKernel(out.kernel);
  }

  async respond(z: ExemplarFeatures, crops: Float32Array, k: number): Promise<Float32Array> {
    const X = this.geometry.instanceSize;
    checkSearchCrops(this.where, crops, k, X);
    if (!(z instanceof OrtKernel) || !z.kernel) throw new Error(`${this.where}: exemplar features come from another engine or were disposed`);
    // the tracker's crop buffer is the same frame after frame: wrap it once
    if (!this.searchInput || this.searchInput.data !== crops || this.searchInput.k !== k) {
      this.searchInput = { data: crops, k, tensor: new this.ort.Tensor('float32', crops, [k, X, X, 3]) };
    }
    const out = await this.searchSession.run({ x: this.searchInput.tensor, kernel: z.kernel });
    const r = out.response.data;
    if (!(r instanceof Float32Array)) throw new Error(`${this.where}: the search model's response is not float32`);
    return r;
  }

  async dispose(): Promise<void> {
    this.searchInput = null;
    await this.exemplarSession.release();
    await this.searchSession.release();
  }
}
