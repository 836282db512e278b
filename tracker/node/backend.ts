/**
 * Node-only backend choice: tfjs-node-gpu → tfjs-node → native-cpu (when its add-on is built) → wasm → cpu, overridable by `--backend <name>`
 * (or `--backend=<name>`) and the ROT_TRACK_BACKEND environment variable.
 *
 * One tfjs engine. tfjs-node and tfjs-node-gpu 4.22.0 are optionalDependencies (not installed on every machine) and
 * each `require('@tensorflow/tfjs')` with the exact version 4.22.0, which npm dedupes to the very copy tracker/tf.ts
 * imports (our dependency is ^4.22.0 and the lock file holds a single node_modules/@tensorflow/tfjs and a single
 * tfjs-core; `tfjsCoreCopies()` checks it at run time). In Node, tracker/tf.ts's ESM `import '@tensorflow/tfjs'`
 * resolves to the same CommonJS file as tfjs-node's `require` (the package has no "exports" map, so both use "main",
 * dist/tf.node.js), hence the same module instance; and tfjs-core keeps its engine and kernel registry on a global
 * (`_tfengine`, `kernelRegistry`), so the backend tfjs-node registers is the one `tf.setBackend` sees. (That global
 * would even be shared by a second copy, whose tensors would however fail `instanceof Tensor` checks: after loading
 * tfjs-node we compare its Tensor class with ours and say so in the log if they ever differ.)
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { tf } from '../tf.js';
import { registerNativeBackend } from './native-backend.js';
import { lastFlagValue } from './argv.js';
import {
  BACKEND_NAMES, describeBackend, isBackendName, noteBackendOrigin, registerWasmTrainingKernels, setBackend,
  type BackendName,
} from '../backend.js';

/** What a caller may ask for: a backend, or 'auto' for the best one available. */
export type BackendRequest = BackendName | 'auto';

/** Options of `initBackend`. `argv` and `env` default to the process's (tests pass their own). */
export interface InitBackendOptions {
  /** The program's own choice; `--backend` in argv and ROT_TRACK_BACKEND override it. Default 'auto'. */
  backend?: BackendRequest;
  /** Where the one-line choice goes. Default: console.error (stdout stays free for a tool's output). */
  log?: (msg: string) => void;
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
}

/** Environment variable that overrides the program's backend choice (the `--backend` flag overrides it). */
export const BACKEND_ENV = 'ROT_TRACK_BACKEND';

/** Order in which 'auto' tries the backends in Node ('tensorflow' = tfjs-node-gpu, then tfjs-node). */
// native-cpu was opt-in for a while: an IEN training step fell back to the cpu backend's UnsortedSegmentSum (the
// gradient of the rotation gather, O(segments · size) with a tensor per segment), 44 s a step and > 12 GB of garbage.
// With its native replacement a cpu-scale ien-siamfc step takes ~0.5 s at ~0.5 GB (wasm: ~0.9 s).
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'native-cpu', 'wasm', 'cpu'];

const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/**
 * The value of the last `--backend <name>` or `--backend=<name>` in argv, unvalidated (initBackend checks it);
 * undefined when absent. Throws when `--backend` is the last argument or is followed by another flag.
 */
export function backendFromArgv(argv: readonly string[]): string | undefined {
  return lastFlagValue(argv, 'backend', ['auto', ...BACKEND_NAMES]);
}

type TfjsNodeResult = { ok: true; pkg: string } | { ok: false; reason: string };
let tfjsNode: Promise<TfjsNodeResult> | undefined;

function shortName(pkg: string): string {
  return pkg.replace('@tensorflow/', '');
}

function importFailure(pkg: string, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const first = String(e?.message ?? err).split('\n')[0];
  const missing = (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && first.includes(pkg);
  return missing ? `${shortName(pkg)} not installed: ${first}` : `${shortName(pkg)} failed to load: ${first}`;
}

/**
 * Imports tfjs-node-gpu, else tfjs-node (once per process); on success the 'tensorflow' backend is registered.
 * A missing or broken package is a reason string, never a crash.
 */
export function loadTfjsNode(): Promise<TfjsNodeResult> {
  tfjsNode ??= (async () => {
    const reasons: string[] = [];
    for (const pkg of TFJS_NODE_PACKAGES) {
      try {
        // A non-literal specifier: TypeScript does not try to resolve a package that may be absent.
        const spec: string = pkg;
        const mod = (await import(spec)) as { Tensor?: unknown; default?: { Tensor?: unknown } };
        if (tf.findBackendFactory('tensorflow') == null) {
          reasons.push(`${shortName(pkg)} loaded but registered no 'tensorflow' backend`);
          continue;
        }
        // tfjs-node re-exports @tensorflow/tfjs: the same Tensor class means the same copy (see the file comment).
        const theirTensor = mod.Tensor ?? mod.default?.Tensor;
        const separate = theirTensor !== undefined && theirTensor !== tf.Tensor;
        noteBackendOrigin('tensorflow', separate ? `${pkg} (with its OWN @tensorflow/tfjs copy: instanceof Tensor breaks)` : pkg);
        return { ok: true as const, pkg };
      } catch (err) {
        reasons.push(importFailure(pkg, err));
      }
    }
    // "tfjs-node not installed: …" is what people look for; the gpu variant's reason is added only when it is news.
    const [gpu, cpu] = reasons;
    const gpuMissing = gpu.startsWith(`${shortName(TFJS_NODE_PACKAGES[0])} not installed`);
    return { ok: false as const, reason: gpuMissing ? cpu : `${cpu}; ${gpu}` };
  })();
  return tfjsNode;
}

/**
 * Where each tfjs package that carries a tfjs-core resolves it from: one distinct path means one engine copy.
 * Keys: 'project', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', and the tfjs-node packages when installed.
 */
export function tfjsCoreCopies(): Record<string, string> {
  const req = createRequire(import.meta.url);
  const out: Record<string, string> = { project: req.resolve('@tensorflow/tfjs-core/package.json') };
  for (const pkg of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', ...TFJS_NODE_PACKAGES]) {
    let dir: string;
    try {
      dir = dirname(req.resolve(`${pkg}/package.json`));
    } catch {
      continue; // not installed
    }
    const from = createRequire(`${dir}/`);
    // tfjs-node depends on tfjs, which carries core: follow that chain when core is not directly resolvable.
    try {
      out[pkg] = from.resolve('@tensorflow/tfjs-core/package.json');
    } catch {
      try {
        out[pkg] = createRequire(`${dirname(from.resolve('@tensorflow/tfjs/package.json'))}/`)
          .resolve('@tensorflow/tfjs-core/package.json');
      } catch {
        // unresolvable: tfjs itself would fail to load
      }
    }
  }
  return out;
}

function webglPossible(): boolean {
  const g = globalThis as Record<string, unknown>;
  return typeof g.WebGL2RenderingContext !== 'undefined' || typeof g.OffscreenCanvas !== 'undefined';
}

/** Why `name` cannot be used here without initialising it, or null when it may be tried. */
async function precheck(name: BackendName): Promise<string | null> {
  switch (name) {
    case 'tensorflow': {
      const r = await loadTfjsNode();
      return r.ok ? null : r.reason;
    }
    case 'native-cpu': {
      // our optional BLAS add-on (tracker/native): registered on first need, with the reason when it is absent
      if (tf.findBackendFactory('native-cpu') != null) return null;
      const native = registerNativeBackend();
      if (!native.ok) return `native-cpu unavailable: ${native.reason}`;
      noteBackendOrigin('native-cpu', `rot-track-native (${native.blas}, ${native.threads} threads; malloc: ${native.malloc})`);
      return null;
    }
    case 'webgl':
      return webglPossible() && tf.findBackendFactory('webgl') != null ? null : 'webgl needs a browser (no WebGL in Node)';
    default:
      return tf.findBackendFactory(name) == null ? `${name} not registered` : null;
  }
}

/** Tries to make `name` the active backend; returns why not, or null on success. */
async function tryBackend(name: BackendName): Promise<string | null> {
  const why = await precheck(name);
  if (why != null) return why;
  try {
    await setBackend(name);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Backends that pass the cheap checks here (tfjs-node importable, factory registered, WebGL present). */
export async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  for (const name of BACKEND_NAMES) if ((await precheck(name)) == null) out.push(name);
  return out;
}

let lastLogged: string | undefined;

function logChoice(log: (msg: string) => void, msg: string): void {
  // Once per process: every entry point may call initBackend, the line appears again only if the choice changes.
  if (msg === lastLogged) return;
  lastLogged = msg;
  log(msg);
}

/**
 * Chooses, initialises and returns the tfjs backend. The request is, in order of precedence: `--backend` in argv,
 * ROT_TRACK_BACKEND, `opts.backend`, 'auto'. 'auto' tries tfjs-node-gpu → tfjs-node ('tensorflow') → 'native-cpu'
 * (when registered) → wasm → cpu. An explicit request that is unknown or unavailable throws an Error naming the
 * backends available here. Logs the choice in one line, once per process.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendName> {
  const log = opts.log ?? ((msg: string) => console.error(msg));
  const argv = opts.argv ?? process.argv.slice(2);
  const env = opts.env ?? process.env;
  registerWasmTrainingKernels();

  const fromFlag = backendFromArgv(argv);
  const fromEnv = env[BACKEND_ENV] !== undefined && env[BACKEND_ENV] !== '' ? env[BACKEND_ENV] : undefined;
  const [request, source] =
    fromFlag !== undefined ? [fromFlag, '--backend']
      : fromEnv !== undefined ? [fromEnv, BACKEND_ENV]
        : [opts.backend ?? 'auto', opts.backend !== undefined ? 'initBackend option' : 'default'];

  if (request !== 'auto') {
    if (!isBackendName(request)) {
      const available = await availableBackends();
      throw new Error(`Unknown backend '${request}' (from ${source}). Known: auto, ${BACKEND_NAMES.join(', ')}; ` +
        `available here: ${available.join(', ')}.`);
    }
    const why = await tryBackend(request);
    if (why != null) {
      const available = await availableBackends();
      throw new Error(`Backend '${request}' (from ${source}) is not available: ${why}. ` +
        `Available here: ${available.join(', ')}.`);
    }
    logChoice(log, `[backend] ${describeBackend().summary} — requested by ${source}`);
    return request;
  }

  const skipped: string[] = [];
  for (const name of AUTO_ORDER) {
    const why = await tryBackend(name);
    if (why == null) {
      logChoice(log, `[backend] ${describeBackend().summary}${skipped.length ? ` — ${skipped.join('; ')}` : ''}`);
      return name;
    }
    skipped.push(why);
  }
  throw new Error(`No tfjs backend could be initialised: ${skipped.join('; ')}`);
}
