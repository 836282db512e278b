/**
 * The digit classifiers (tracker/classifier.ts): model folders under the model directory whose model.json has format
 * `rot-track/classifier@1` (as training/train-classifier.ts writes them). Each is loaded on first use and kept; a
 * request runs every available classifier on the same 28×28 digit so CNN and IEN can be compared side by side.
 * With no trained classifier on disk, requests get 503 naming what is missing — never made-up predictions.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { digitsToTensor, type Classifier } from '../tracker/classifier.js';
import { CLASSIFIER_FORMAT } from '../tracker/classifier/weights.js';
import { loadClassifier } from '../tracker/classifier/files.js';
import { tf } from '../tracker/tf.js';
import { AppError } from './errors.js';
import type { ClassifyResult } from './protocol.js';

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

  /** Rescan `<modelDir>/*` for classifier model folders. */
  async refresh(): Promise<void> {
    let names: string[] = [];
    try {
      names = (await readdir(this.modelDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    } catch {
      names = [];
    }
    for (const name of names) {
      if (this.entries.has(name)) continue;
      const dir = path.join(this.modelDir, name);
      try {
        const m = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { format?: unknown; spec?: { variant?: unknown } };
        if (m.format !== CLASSIFIER_FORMAT) continue;
        this.entries.set(name, { name, dir, variant: String(m.spec?.variant ?? 'unknown') });
      } catch {
        // not a model folder, or not JSON: the tracker registry reports broken tracker models
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

  /** Class probabilities of a 28×28 grey digit (0–255, row-major) from every available classifier. */
  async classify(pixels: number[]): Promise<ClassifyResult[]> {
    const why = await this.status();
    if (why) throw new AppError('unavailable', why, 503);
    const out: ClassifyResult[] = [];
    for (const e of this.entries.values()) {
      if (!e.loaded) {
        e.loaded = loadClassifier(e.dir).then((r) => r.model);
        e.loaded.catch(() => {
          e.loaded = undefined;
        });
      }
      let model: Classifier;
      try {
        model = await e.loaded;
      } catch (err) {
        throw new AppError('unavailable', `classifier "${e.name}" could not be loaded: ${(err as Error).message}`, 503);
      }
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
