/**
 * Resolving a tracker by name or path (Node): `template-matching` (built in, no weights), a variant name whose model
 * ships in `tracker/models/<variant>/`, or a path to a model folder / model.json. One loaded network can serve many
 * trackers (the server's sockets, an evaluation's sequences).
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Backbone } from '../backbones.js';
import { SiamFCNet } from '../siamfc/network.js';
import { SiamFCTracker } from '../siamfc/tracker.js';
import type { ModelManifest } from '../weights.js';
import { ModelFileError } from '../weights.js';
import { TEMPLATE_MATCHING, templateMatchingSpec } from '../registry.js';
import { loadModel } from './model-files.js';
import type { SiamFCEngine } from '../engine/engine.js';
import { type EngineChoice, createEngine } from './onnx/choose-engine.js';

/** Options of `loadTracker`. */
export interface LoadTrackerOptions {
  /** Run the networks on this engine (from `chooseEngine`); default: tfjs, the tracker's own path. */
  engine?: EngineChoice;
}

/** A tracker name with the rotated-template suffix split off: `ien-siamfc+rot8` → `ien-siamfc`, 8 templates. */
export function splitTemplateSuffix(nameOrPath: string): { base: string; templates?: number } {
  const m = /^(.*)\+rot(\d+)$/.exec(nameOrPath);
  if (!m) return { base: nameOrPath };
  const templates = Number(m[2]);
  if (!(templates >= 1 && templates <= 64)) {
    throw new ModelFileError(`${nameOrPath}: "+rot<T>" takes 1 to 64 rotated templates, got ${m[2]}`);
  }
  return { base: m[1], templates };
}

/** Folder of the shipped models: `tracker/models/<name>/model.json`. */
export const SHIPPED_MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'models');

/** A loaded network with what is known about it. */
export interface LoadedTracker {
  /** Display name: the variant, `template-matching`, or the model folder's name. */
  name: string;
  net: SiamFCNet;
  /** The model manifest (null for the built-in template matcher). */
  manifest: ModelManifest | null;
  /** Where it came from (`built-in` or the model folder). */
  source: string;
  /** The inference engine the trackers use (null: tfjs). Shared like the network. */
  engine: SiamFCEngine | null;
  /** A new tracker over the shared network (dispose it; the network stays). */
  createTracker(): SiamFCTracker;
  /** Release the network (and the engine). */
  dispose(): void;
}

/** Names of the models found in `dir` (folders holding a model.json), sorted, plus `template-matching`. */
export async function listModels(dir = SHIPPED_MODELS_DIR): Promise<string[]> {
  let names: string[] = [];
  try {
    const ents = await readdir(dir, { withFileTypes: true });
    names = ents.filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'model.json'))).map((e) => e.name);
  } catch {
    // no models folder: only the built-in tracker
  }
  return [...names.sort(), TEMPLATE_MATCHING];
}

/**
 * Load a tracker by name (`template-matching`, or a model folder under `modelsDir`) or by path. Unknown names give
 * an error listing what is available; bad files give the model-file errors (file and field). A `+rot<T>` suffix
 * (`ien-siamfc+rot8`, `runs/x/model+rot8`) gives the same network with T rotated templates (SiamFCConfig.templates);
 * the loaded tracker's name keeps the suffix.
 */
export async function loadTracker(
  nameOrPath: string,
  modelsDir = SHIPPED_MODELS_DIR,
  options: LoadTrackerOptions = {},
): Promise<LoadedTracker> {
  const { base, templates } = splitTemplateSuffix(nameOrPath);
  if (templates !== undefined) {
    const loaded = await loadTracker(base, modelsDir, options);
    const name = `${loaded.name}+rot${templates}`;
    const tracker = { ...(loaded.manifest?.tracker ?? {}), templates };
    return {
      ...loaded,
      name,
      createTracker: () => new SiamFCTracker(loaded.net, tracker, name, loaded.engine ?? undefined),
    };
  }
  if (nameOrPath === TEMPLATE_MATCHING) {
    const net = new SiamFCNet(new Backbone(templateMatchingSpec()));
    return wrap(TEMPLATE_MATCHING, net, null, 'built-in', options);
  }
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.endsWith('.json');
  const candidate = looksLikePath ? nameOrPath : path.join(modelsDir, nameOrPath);
  if (!existsSync(candidate)) {
    const available = await listModels(modelsDir);
    throw new ModelFileError(
      looksLikePath
        ? `${nameOrPath}: model file or folder does not exist`
        : `unknown tracker "${nameOrPath}": available are ${available.join(', ')} (or give a path to a model folder)`,
    );
  }
  const { net, manifest, dir } = await loadModel(candidate);
  const name = looksLikePath ? path.basename(dir) : nameOrPath;
  return wrap(name, net, manifest, dir, options);
}

function wrap(name: string, net: SiamFCNet, manifest: ModelManifest | null, source: string, options: LoadTrackerOptions): LoadedTracker {
  let engine: SiamFCEngine | null = null;
  if (options.engine) {
    try {
      engine = createEngine(options.engine, net, source);
    } catch (e) {
      net.dispose();
      throw e;
    }
  }
  return {
    name,
    net,
    manifest,
    source,
    engine,
    createTracker: () => new SiamFCTracker(net, manifest?.tracker ?? {}, name, engine ?? undefined),
    dispose: () => {
      engine?.dispose();
      net.dispose();
    },
  };
}
