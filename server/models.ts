/**
 * The models the server tracks with: trained SiamFC models found under `<modelDir>/<name>/model.json` (loaded lazily,
 * one network shared by every tracker that uses it) plus the weight-free `template-matching` fallback (SiamFC over
 * average-pooled, zero-mean pixels), which is always available and is the default until a trained model exists.
 * Networks run on the fastest inference engine available (tracker/node/onnx/choose-engine.ts: onnxruntime-node when it
 * loads, else tfjs; `--engine` / ROT_TRACK_ENGINE override), chosen and logged once when the registry is created.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SiamFCNet, SiamFCTracker } from '../tracker/siamfc.js';
import type { SiamFCConfigInput } from '../tracker/siamfc.js';
import { TEMPLATE_MATCHING as REGISTRY_TEMPLATE_MATCHING, VARIANT_DESCRIPTIONS, templateMatchingSpec } from '../tracker/registry.js';
import { createBackbone, parseManifest } from '../tracker/weights.js';
import { loadModel } from '../tracker/node/model-files.js';
import type { Tracker } from '../tracker/tracker.js';
import type { SiamFCEngine } from '../tracker/engine/engine.js';
import { type EngineChoice, chooseEngine, createEngine } from '../tracker/node/onnx/choose-engine.js';
import { AppError } from './errors.js';
import type { ModelInfo, ModelList } from './protocol.js';

/** Name of the weight-free fallback model. */
export const TEMPLATE_MATCHING = REGISTRY_TEMPLATE_MATCHING;

interface Entry {
  info: ModelInfo;
  dir?: string;
  net?: Promise<Loaded>;
}

/** A loaded model: the shared network, its tracker settings, its engine (null: tfjs). */
export interface Loaded {
  net: SiamFCNet;
  tracker: SiamFCConfigInput;
  engine: SiamFCEngine | null;
}

/** Options of the registry. */
export interface ModelRegistryOptions {
  /** Engine request ('auto' by default; `--engine` and ROT_TRACK_ENGINE override it). */
  engine?: string;
  /** Where the `[engine] …` line goes (default console.error). */
  log?: (msg: string) => void;
  /** Flags and environment read by the engine choice (default: the process's). */
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** The default model's name (config `defaultModel`); empty/absent: `<modelDir>/default.json`, else Table 3's order. */
  defaultModel?: string;
}

/** Models on disk and in memory. `refresh()` rescans the folder; `createTracker()` builds a tracker on a shared net. */
export class ModelRegistry {
  private entries = new Map<string, Entry>();
  private broken: { name: string; reason: string }[] = [];
  private preferred: string = TEMPLATE_MATCHING;
  private readonly log: (msg: string) => void;
  /** The inference engine every model runs on. */
  readonly engine: EngineChoice;

  private readonly defaultModel: string;

  constructor(private readonly modelDir: string, opts: ModelRegistryOptions = {}) {
    this.log = opts.log ?? ((m: string) => console.error(m));
    this.defaultModel = opts.defaultModel ?? '';
    this.engine = chooseEngine({ engine: opts.engine, log: this.log, argv: opts.argv, env: opts.env });
    this.entries.set(TEMPLATE_MATCHING, {
      info: {
        name: TEMPLATE_MATCHING,
        variant: TEMPLATE_MATCHING,
        trained: false,
        description: VARIANT_DESCRIPTIONS[TEMPLATE_MATCHING],
      },
    });
  }

  /**
   * Scan `<modelDir>/*` for folders holding a model.json. Readable manifests become models (weights load on first use);
   * unreadable ones are listed in `broken` with the reason. The default is ien-siamfc when present (else the next of
   * Table 3's variants, else the first trained model by name).
   */
  async refresh(): Promise<void> {
    let names: string[] = [];
    try {
      names = (await readdir(this.modelDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch {
      names = [];
    }
    const broken: { name: string; reason: string }[] = [];
    for (const name of names) {
      const dir = path.join(this.modelDir, name);
      if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) continue;
      try {
        await stat(path.join(dir, 'model.json'));
      } catch {
        continue;
      }
      if (this.entries.has(name) && this.entries.get(name)!.dir === dir) continue;
      try {
        const text = await readFile(path.join(dir, 'model.json'), 'utf8');
        // Classifier models share the folder; server/classifier.ts serves them.
        if (/"format"\s*:\s*"rot-track\/classifier@/.test(text)) continue;
        const manifest = parseManifest(text, path.join(dir, 'model.json'));
        const auc = manifest.metrics['successAuc'] ?? manifest.metrics['auc'];
        this.entries.set(name, {
          dir,
          info: {
            name,
            variant: manifest.variant,
            trained: true,
            description: `${(VARIANT_DESCRIPTIONS as Record<string, string>)[manifest.variant] ?? `trained ${manifest.variant}`} (${manifest.backbone.name})${typeof auc === 'number' ? `, success AUC ${auc.toFixed(3)}` : ''}`,
          },
        });
      } catch (e) {
        broken.push({ name, reason: (e as Error).message });
      }
    }
    this.broken = broken;
    const trained = [...this.entries.values()].filter((e) => e.info.trained).map((e) => e.info.name).sort();
    // the operator's choice; else the shipped choice (default.json, made from held-out measurements); else the
    // paper's rotation-robust tracker when it ships, then the other variants in Table 3's order
    let chosen = this.defaultModel || readDefaultFile(this.modelDir, this.log);
    if (chosen && !this.entries.has(chosen)) {
      const known = [...this.entries.keys()].join(', ');
      if (this.defaultModel) throw new AppError('unknown_model', `--default-model: "${chosen}" is not among ${known}`, 400);
      this.log(`${path.join(this.modelDir, 'default.json')}: model "${chosen}" is not among ${known}; using the built-in order`);
      chosen = '';
    }
    const order = ['ien-siamfc', 'het-siamfc', 're-siamfc', 'cnn4-siamfc', 'siamfc'];
    this.preferred = chosen || (order.find((n) => trained.includes(n)) ?? trained[0] ?? TEMPLATE_MATCHING);
  }

  /** The list `GET /api/models` answers. */
  list(): ModelList {
    const models = [...this.entries.values()].map((e) => e.info).sort((a, b) => Number(b.trained) - Number(a.trained) || a.name.localeCompare(b.name));
    return { models, default: this.preferred, broken: this.broken };
  }

  /** Resolve a requested name (undefined = default); throws AppError `unknown_model` listing what exists. */
  resolve(name: string | undefined): string {
    const n = name ?? this.preferred;
    if (!this.entries.has(n)) {
      throw new AppError('unknown_model', `unknown model "${n}"; available: ${[...this.entries.keys()].join(', ')}`, 400);
    }
    return n;
  }

  /** A new tracker on model `name`'s shared network (loaded on first use). The caller disposes the tracker only. */
  async createTracker(name: string): Promise<Tracker> {
    const { name: n, net, tracker, engine } = await this.network(name);
    return new SiamFCTracker(net, tracker, n, engine ?? undefined);
  }

  /** Model `name`'s shared network (loaded on first use) and its tracker settings; the registry keeps owning it. */
  async network(name: string | undefined): Promise<Loaded & { name: string }> {
    const n = this.resolve(name);
    const entry = this.entries.get(n)!;
    if (!entry.net) {
      entry.net = this.load(entry);
      entry.net.catch(() => {
        entry.net = undefined;
      });
    }
    try {
      return { ...(await entry.net), name: n };
    } catch (e) {
      throw new AppError('unavailable', `model "${n}" could not be loaded: ${(e as Error).message}`, 503);
    }
  }

  private async load(entry: Entry): Promise<Loaded> {
    if (!entry.dir) {
      const net = new SiamFCNet(createBackbone(templateMatchingSpec()));
      return { net, tracker: {}, engine: this.engineFor(net, entry.info.name) };
    }
    const { net, manifest } = await loadModel(entry.dir);
    return { net, tracker: manifest.tracker, engine: this.engineFor(net, entry.info.name) };
  }

  /** The chosen engine over `net`; a model the onnx engine cannot take runs on tfjs, and the log says why. */
  private engineFor(net: SiamFCNet, name: string): SiamFCEngine | null {
    try {
      return createEngine(this.engine, net, name);
    } catch (e) {
      this.log(`[engine] ${name}: tfjs instead of onnx — ${(e as Error).message}`);
      return null;
    }
  }

  /** Release every loaded network. Trackers built on them must be disposed first. */
  async dispose(): Promise<void> {
    for (const e of this.entries.values()) {
      if (!e.net) continue;
      try {
        const loaded = await e.net;
        loaded.engine?.dispose();
        loaded.net.dispose();
      } catch {
        // a model that failed to load holds nothing
      }
      e.net = undefined;
    }
  }
}

/**
 * The model `<dir>/default.json` names (`{"model": "<name>", "why": "…"}`), or '' when the file is absent. A file
 * that cannot be read or has no model name is reported once and ignored.
 */
export function readDefaultFile(dir: string, log: (msg: string) => void = () => undefined): string {
  const file = path.join(dir, 'default.json');
  if (!existsSync(file)) return '';
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { model?: unknown };
    if (typeof json.model === 'string' && json.model) return json.model;
    log(`${file}: field "model" is missing or not a name; using the built-in order`);
  } catch (e) {
    log(`${file}: not valid JSON (${(e as Error).message}); using the built-in order`);
  }
  return '';
}
