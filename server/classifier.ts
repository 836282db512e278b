/**
 * The digit classifiers (tracker/classifier.ts): model folders under the model directory whose model.json has format
 * `rot-track/classifier@1` (as training/train-classifier.ts writes them). Each is loaded on first use and kept; a
 * request runs every available classifier on the same 28×28 digit so CNN and IEN can be compared side by side.
 * `features` returns the group-pooled maps of one conv block as small grey PNGs (the paper's Figure 1, live).
 * With no trained classifier on disk, requests get 503 naming what is missing — never made-up predictions.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { digitsToTensor, type Classifier } from '../tracker/classifier.js';
import { CLASSIFIER_FORMAT } from '../tracker/classifier/weights.js';
import { loadClassifier } from '../tracker/node/classifier-files.js';
import { tf } from '../tracker/tf.js';
import { AppError } from './errors.js';
import sharp from 'sharp';
import { FEATURE_LAYERS, MAX_FEATURE_MAPS, type ClassifyFeaturesAnswer, type ClassifyResult, type FeatureMapsResult } from './protocol.js';

const round4 = (v: number) => Math.round(v * 1e4) / 1e4;

interface Entry {
  name: string;
  dir: string;
  variant: string;
  loaded?: Promise<Classifier>;
}

/** Classifier models found on disk, loaded lazily. */
export class Classifiers {
  private entries = new Map<string, Entry>();

  constructor(private readonly modelDir: string) {}

  /** Rescan `<modelDir>/*` and `<modelDir>/classifiers/*` (where the shipped classifiers live) for classifier models. */
  async refresh(): Promise<void> {
    for (const root of [this.modelDir, path.join(this.modelDir, 'classifiers')]) {
      let names: string[] = [];
      try {
        names = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
      } catch {
        names = [];
      }
      for (const name of names) {
        if (this.entries.has(name)) continue;
        const dir = path.join(root, name);
        try {
          const m = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { format?: unknown; spec?: { variant?: unknown } };
          if (m.format !== CLASSIFIER_FORMAT) continue;
          this.entries.set(name, { name, dir, variant: String(m.spec?.variant ?? 'unknown') });
        } catch {
          // not a model folder, or not JSON: the tracker registry reports broken tracker models
        }
      }
    }
  }

  /** Names and variants of the classifiers available. */
  list(): { name: string; variant: string }[] {
    return [...this.entries.values()].map((e) => ({ name: e.name, variant: e.variant }));
  }

  /** Why classification is unavailable, or null when at least one classifier exists. */
  async status(): Promise<string | null> {
    await this.refresh();
    if (this.entries.size > 0) return null;
    return `no trained classifier found: the model folder has no sub-folder whose model.json has format "${CLASSIFIER_FORMAT}" ` +
      '(train one with training/train-classifier.ts and copy its model/ folder there)';
  }

  /** The classifier of `e`, loaded on first use (a failed load is retried on the next request). */
  private async model(e: Entry): Promise<Classifier> {
    if (!e.loaded) {
      e.loaded = loadClassifier(e.dir).then((r) => r.model);
      e.loaded.catch(() => {
        e.loaded = undefined;
      });
    }
    try {
      return await e.loaded;
    } catch (err) {
      throw new AppError('unavailable', `classifier "${e.name}" could not be loaded: ${(err as Error).message}`, 503);
    }
  }

  /** Class probabilities of a 28×28 grey digit (0–255, row-major) from every available classifier. */
  async classify(pixels: number[]): Promise<ClassifyResult[]> {
    const why = await this.status();
    if (why) throw new AppError('unavailable', why, 503);
    const out: ClassifyResult[] = [];
    for (const e of this.entries.values()) {
      const model = await this.model(e);
      const scores = tf.tidy(() => {
        const x = digitsToTensor(Uint8Array.from(pixels), 28);
        return model.predict(x);
      });
      const s = Array.from(await scores.data());
      scores.dispose();
      out.push({ model: e.name, variant: e.variant, scores: s, label: s.indexOf(Math.max(...s)) });
    }
    return out;
  }

  /**
   * The group-pooled feature maps (after BN + ELU, inference mode) of conv block `layer` (1-based) for a 28×28 grey
   * digit, from every available classifier: the first up to MAX_FEATURE_MAPS channels as grey PNGs. Channel c is
   * scaled to 0–255 over the min/max of channel c of all classifiers together, so CNN and IEN maps compare directly.
   */
  async features(pixels: number[], layer: number): Promise<ClassifyFeaturesAnswer> {
    if (!Number.isInteger(layer) || layer < 1 || layer > FEATURE_LAYERS) {
      throw new AppError('invalid_payload', `layer must be an integer from 1 to ${FEATURE_LAYERS}, got ${layer}`, 400);
    }
    const why = await this.status();
    if (why) throw new AppError('unavailable', why, 503);
    const raw: { e: Entry; channels: number; h: number; w: number; c: number; values: Float32Array }[] = [];
    for (const e of this.entries.values()) {
      const model = await this.model(e);
      const maps = tf.tidy(() => {
        const x = digitsToTensor(Uint8Array.from(pixels), 28);
        const f = model.forwardFeatures(x, false).layers[layer - 1];
        const c = Math.min(MAX_FEATURE_MAPS, f.shape[3]);
        return { all: f.shape[3], t: tf.slice(f, [0, 0, 0, 0], [1, -1, -1, c]) };
      });
      const [, h, w, c] = maps.t.shape;
      const values = (await maps.t.data()) as Float32Array;
      maps.t.dispose();
      raw.push({ e, channels: maps.all, h, w, c, values });
    }
    // Per-channel range over every classifier.
    const nc = Math.max(0, ...raw.map((r) => r.c));
    const ranges: [number, number][] = [];
    for (let ch = 0; ch < nc; ch++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const r of raw) {
        if (ch >= r.c) continue;
        for (let i = ch; i < r.values.length; i += r.c) {
          const v = r.values[i];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      ranges.push([lo, hi]);
    }
    const results: FeatureMapsResult[] = [];
    for (const r of raw) {
      const maps: string[] = [];
      for (let ch = 0; ch < r.c; ch++) {
        const [lo, hi] = ranges[ch];
        const span = hi - lo > 1e-6 ? hi - lo : 1;
        const g = Buffer.alloc(r.h * r.w);
        for (let p = 0; p < g.length; p++) g[p] = Math.round((255 * (r.values[p * r.c + ch] - lo)) / span);
        const png = await sharp(g, { raw: { width: r.w, height: r.h, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: 9 }).toBuffer();
        maps.push(png.toString('base64'));
      }
      results.push({ model: r.e.name, variant: r.e.variant, channels: r.channels, width: r.w, height: r.h, maps });
    }
    return { layer, ranges: ranges.map(([lo, hi]) => [round4(lo), round4(hi)]), results };
  }

  /** Release every loaded classifier. */
  async dispose(): Promise<void> {
    for (const e of this.entries.values()) {
      if (!e.loaded) continue;
      try {
        (await e.loaded).dispose();
      } catch {
        // failed loads hold nothing
      }
      e.loaded = undefined;
    }
  }
}
