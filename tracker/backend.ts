/**
 * Run-time backend choice and the wasm training kernels. Browser-safe (no node imports); the node-only choice of
 * tfjs-node / native-cpu / wasm / cpu lives in tracker/node/backend.ts and builds on this file.
 *
 * Importing this module registers the wasm training kernels (`registerWasmTrainingKernels()` runs at module load):
 * tracker/tf.ts is the project's one tfjs import point but does not register them, so any code that may train on
 * wasm imports this module (the node `initBackend` and `setBackend` below also call the function; it is idempotent).
 */
import { tf } from './tf.js';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { missingWasmKernels, wasmKernelOverrides } from './kernels/index.js';
import { registerDilatedConvGradients } from './kernels/dilated_conv_grad.js';
import { registerCpuKernelFixes } from './kernels/cpu_fixes.js';

/**
 * Backends the project knows. 'tensorflow' is tfjs-node or tfjs-node-gpu (both register that name); 'native-cpu' is
 * the project's own native backend when it is registered; 'wasm' is tfjs-backend-wasm (XNNPACK, SIMD when the runtime
 * has it, single-threaded in Node); 'cpu' is plain JavaScript; 'webgl' is browsers only.
 */
export type BackendName = 'tensorflow' | 'native-cpu' | 'wasm' | 'cpu' | 'webgl';

/** Every BackendName, in the order 'auto' prefers them in Node (webgl last: browsers only). */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'native-cpu', 'wasm', 'cpu', 'webgl'];

/** True when `name` is one of BACKEND_NAMES. */
export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

const stockWasmKernels = new Map<string, tf.KernelConfig>();
const ourKernels = new Set<tf.KernelFunc>([...missingWasmKernels, ...wasmKernelOverrides].map((k) => k.kernelFunc));

/**
 * Registers, for backend 'wasm', the gradient kernels tfjs-backend-wasm 4.22 lacks (Conv2DBackpropFilter,
 * DepthwiseConv2dNativeBackpropInput/Filter, UnsortedSegmentSum) and replaces two slow stock kernels (Conv2DBackpropInput,
 * Tile) and an incorrect one (MaxPoolGrad); see tracker/kernels/. Also makes the gradients of dilated convs work on
 * every backend, and fixes the cpu backend's ResizeBilinearGrad output shape for non-square images (cpu is the
 * reference the wasm kernels are tested against, and the backend the project's tests pin).
 * Idempotent; safe before or after the wasm backend is initialised (the kernel registry is global, keyed by name).
 * Returns the names of the wasm kernels it provides.
 */
export function registerWasmTrainingKernels(): string[] {
  for (const config of missingWasmKernels) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    // A later tfjs-backend-wasm may ship its own: keep it.
    if (current == null) tf.registerKernel(config);
  }
  for (const config of wasmKernelOverrides) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current != null && current.kernelFunc === config.kernelFunc) continue;
    if (current != null) {
      if (!ourKernels.has(current.kernelFunc)) stockWasmKernels.set(config.kernelName, current);
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(config);
  }
  registerDilatedConvGradients();
  registerCpuKernelFixes();
  return [...missingWasmKernels, ...wasmKernelOverrides].map((k) => k.kernelName);
}

/**
 * The stock tfjs-backend-wasm kernel that `registerWasmTrainingKernels()` replaced under `kernelName`, if any
 * (for benchmarks and tests comparing the two). If it was replaced before the wasm backend initialised, its
 * `setupFunc` never ran: call it with `tf.backend()` before running it.
 */
export function stockWasmKernel(kernelName: string): tf.KernelConfig | undefined {
  return stockWasmKernels.get(kernelName);
}

registerWasmTrainingKernels();

/**
 * Switches tfjs to `name` and waits until it is ready; throws if it cannot be initialised here (tfjs itself only
 * logs and returns false). Registers the wasm training kernels first when `name` is 'wasm'.
 */
export async function setBackend(name: BackendName | string): Promise<void> {
  if (name === 'wasm') registerWasmTrainingKernels();
  if (tf.findBackendFactory(name) == null) {
    throw new Error(`tfjs backend '${name}' is not registered; registered: ${registeredBackends().join(', ') || 'none'}`);
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new Error(`tfjs backend '${name}' failed to initialise: ${(err as Error).message}`);
  }
  if (!ok) throw new Error(`tfjs backend '${name}' failed to initialise (see the tfjs message above)`);
  await tf.ready();
}

/** Names of the tfjs backends registered in this process (registered ≠ usable: webgl is registered in Node too). */
export function registeredBackends(): string[] {
  return Object.keys(tf.engine().registryFactory);
}

/** What is running, for logs, manifests and benchmark tables. */
export interface BackendDescription {
  /** tf.getBackend(): the active backend's name. */
  name: string;
  /** Native code outside the JS engine (libtensorflow, the native-cpu addon); false for wasm, cpu and webgl. */
  native: boolean;
  /** A GPU does the work (webgl, tfjs-node-gpu). */
  gpu: boolean;
  /** wasm only: whether the SIMD build was loaded. */
  simd?: boolean;
  /** wasm only: threads in its pool (1 in Node). */
  threads?: number;
  /** wasm only: whether our training kernels are registered (tf.grad of convs works). */
  trainingKernels?: boolean;
  /** Where the backend came from when it is not part of @tensorflow/tfjs (e.g. '@tensorflow/tfjs-node'). */
  origin?: string;
  /** One line such as "wasm (SIMD, 1 thread)". */
  summary: string;
}

const origins = new Map<string, string>();

/**
 * Records where a backend came from, shown by `describeBackend()`: the node loader notes '@tensorflow/tfjs-node' or
 * '-node-gpu' for 'tensorflow'; whoever registers 'native-cpu' may note e.g. 'rot-track-native, OpenBLAS, 2 threads'.
 */
export function noteBackendOrigin(name: string, origin: string): void {
  origins.set(name, origin);
}

/** Describes the active backend (call after the backend is ready, e.g. after `setBackend` or `initBackend`). */
export function describeBackend(): BackendDescription {
  const name = tf.getBackend();
  const origin = origins.get(name);
  if (name === 'wasm') {
    const flags = tf.env().getFlags();
    const simd = flags['WASM_HAS_SIMD_SUPPORT'] === true;
    let threads = 1;
    try {
      threads = getThreadsCount();
    } catch {
      // Not initialised yet: the pool size is unknown, 1 is what Node gets.
    }
    const trainingKernels = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') != null;
    const parts = [simd ? 'SIMD' : 'no SIMD', `${threads} thread${threads === 1 ? '' : 's'}`];
    if (!trainingKernels) parts.push('no training kernels');
    return { name, native: false, gpu: false, simd, threads, trainingKernels, summary: `wasm (${parts.join(', ')})` };
  }
  if (name === 'tensorflow') {
    const gpu = origin != null && origin.endsWith('-gpu');
    return { name, native: true, gpu, origin, summary: `tensorflow (${origin ?? 'tfjs-node'}, libtensorflow${gpu ? ', GPU' : ''})` };
  }
  if (name === 'native-cpu') return { name, native: true, gpu: false, origin, summary: `native-cpu (${origin ?? 'native addon'})` };
  if (name === 'webgl') return { name, native: false, gpu: true, summary: 'webgl (GPU)' };
  if (name === 'cpu') return { name, native: false, gpu: false, summary: 'cpu (plain JavaScript)' };
  return { name, native: false, gpu: false, origin, summary: name };
}
