/**
 * Which inference engine the tracker's networks run on (Node): `auto` (default) = onnxruntime-node when it loads,
 * else tfjs with the reason; `onnx` or `tfjs` explicitly. Precedence: `--engine <name>` (or `--engine=<name>`) in
 * argv, then the ROT_TRACK_ENGINE environment variable, then the program's own choice, then `auto`. The choice is
 * logged in one line (`[engine] …`, like the backend's `[backend] …`), once per process per distinct choice.
 */
import { availableParallelism } from 'node:os';
import type { SiamFCNet } from '../../siamfc/network.js';
import { type EngineName, type SiamFCEngine, TfjsEngine } from '../../engine/engine.js';
import { loadOrt } from './ort.js';
import { NativeNetEngine, onnxEngineFor } from '../native-net-engine.js';

const runnerLines = new Set<string>();
import { lastFlagValue } from '../argv.js';

/** What a caller may ask for. */
export type EngineRequest = EngineName | 'auto';

export const ENGINE_ENV = 'ROT_TRACK_ENGINE';
const REQUESTS: readonly EngineRequest[] = ['auto', 'tfjs', 'onnx'];

/** The chosen engine and how it will run. */
export interface EngineChoice {
  engine: EngineName;
  /** Intra-op threads per onnx session (unused by tfjs). */
  threads: number;
  /** The log line without the `[engine] ` prefix. */
  summary: string;
  /** Chosen by 'auto': a model that cannot be exported or loaded then runs on tfjs (with a warning) instead of failing. */
  auto?: boolean;
}

/** Options of `chooseEngine`; argv / env default to the process's (tests pass their own). */
export interface ChooseEngineOptions {
  engine?: string;
  /** onnx intra-op threads (default: all cores; eval passes cores / workers). */
  threads?: number;
  /** Extra text for the log line, e.g. `per worker × 2 workers`. */
  note?: string;
  log?: (msg: string) => void;
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Name of the tfjs backend in the fallback message (default: none). */
  tfjsBackend?: string;
}

/** The value of the last `--engine <name>` / `--engine=<name>` in argv (unvalidated); throws when the value is missing. */
export function engineFromArgv(argv: readonly string[]): string | undefined {
  return lastFlagValue(argv, 'engine', REQUESTS);
}

let lastLogged: string | undefined;

/** Resolve the engine request (see the file comment). Throws for an unknown name or an explicit `onnx` that cannot load. */
export function chooseEngine(opts: ChooseEngineOptions = {}): EngineChoice {
  const log = opts.log ?? ((m: string) => console.error(m));
  const argv = opts.argv ?? process.argv.slice(2);
  const env = opts.env ?? process.env;
  const fromFlag = engineFromArgv(argv);
  const fromEnv = env[ENGINE_ENV] ? env[ENGINE_ENV] : undefined;
  const [request, source] = fromFlag !== undefined ? [fromFlag, '--engine']
    : fromEnv !== undefined ? [fromEnv, ENGINE_ENV]
      : [opts.engine ?? 'auto', opts.engine !== undefined ? 'option' : 'default'];
  if (!(REQUESTS as readonly string[]).includes(request)) {
    throw new Error(`Unknown engine '${request}' (from ${source}); known: ${REQUESTS.join(', ')}`);
  }
  const threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
  if (!Number.isFinite(threads)) throw new Error(`engine threads must be a positive number, got ${opts.threads}`);
  const ort = loadOrt();
  const tfjsName = `tfjs${opts.tfjsBackend ? ` (${opts.tfjsBackend})` : ''}`;
  let choice: EngineChoice;
  if (request === 'tfjs') {
    choice = { engine: 'tfjs', threads, summary: `${tfjsName} — requested by ${source}` };
  } else if (ort.ok) {
    const t = `${threads} thread${threads === 1 ? '' : 's'}${opts.note ? ` ${opts.note}` : ''}`;
    choice = {
      engine: 'onnx', threads, auto: request === 'auto',
      summary: `onnxruntime-node ${ort.version} (CPU, ${t})${request === 'onnx' ? ` — requested by ${source}` : ''}`,
    };
  } else if (request === 'onnx') {
    throw new Error(`Engine 'onnx' (from ${source}) is not available: ${ort.reason}`);
  } else {
    choice = { engine: 'tfjs', threads, summary: `${tfjsName} — ${ort.reason}` };
  }
  const line = `[engine] ${choice.summary}`;
  if (line !== lastLogged) {
    lastLogged = line;
    log(line);
  }
  return choice;
}

/**
 * Build the chosen engine over `net`: null for tfjs (the tracker's own tfjs path); for onnx, the native oneDNN runner
 * where the add-on can run the backbone (native-net-engine.ts), else an OnnxEngine.
 */
export function createEngine(
  choice: EngineChoice,
  net: SiamFCNet,
  where?: string,
  warn: (msg: string) => void = (m) => console.error(m),
): SiamFCEngine | null {
  if (choice.engine !== 'onnx') return null;
  try {
    const engine = onnxEngineFor(net, { threads: choice.threads }, where);
    // the [engine] line named onnxruntime; say when this model runs on the add-on's oneDNN runner instead (once per line)
    if (engine instanceof NativeNetEngine) {
      const line = `[engine] ${where ?? 'model'}: ${engine.description}`;
      if (!runnerLines.has(line)) {
        runnerLines.add(line);
        warn(line);
      }
    }
    return engine;
  } catch (e) {
    if (!choice.auto) throw e;
    warn(`[engine] ${where ?? 'model'}: runs on tfjs — ${(e as Error).message}`);
    return null;
  }
}

/** The reference engine object over `net` (benchmarks, parity checks). */
export function tfjsEngine(net: SiamFCNet): SiamFCEngine {
  return new TfjsEngine(net);
}
