/**
 * Evaluation datasets described by a small serialisable reference (so worker threads can reopen them): an OTB-layout
 * root, a GOT-10k split, either optionally rotated on the fly into Rot-OTB with a rate Δ (°/frame).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { SequenceDataset } from '../data/dataset.js';
import { OtbDataset } from '../data/otb.js';
import { Got10kDataset } from '../data/got10k.js';
import { RotatedDataset } from '../data/rotate.js';

/** A dataset to evaluate on. `delta` (°/frame) turns it into Rot-OTB on the fly (0 keeps the frames but names it so). */
export const DatasetRef = z
  .object({
    layout: z.enum(['otb', 'got10k']),
    /** One root, or several OTB-layout roots evaluated as one benchmark (sequence names must be unique). */
    root: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    split: z.enum(['train', 'val', 'test']).default('val'),
    delta: z.number().min(0).max(45).optional(),
    /** Restrict to these sequence names (in this order). */
    sequences: z.array(z.string()).optional(),
  })
  .strict();
export type DatasetRef = z.infer<typeof DatasetRef>;

/** Open the dataset a reference describes; a missing root or an empty dataset is an error naming the path. */
export function openDataset(ref: DatasetRef): SequenceDataset {
  const roots = Array.isArray(ref.root) ? ref.root : [ref.root];
  for (const r of roots) if (!existsSync(r)) throw new Error(`dataset root ${r} does not exist`);
  const one = (r: string): SequenceDataset => (ref.layout === 'otb'
    ? new OtbDataset(r, roots.length > 1 ? { name: path.basename(path.resolve(r)) } : {}) : new Got10kDataset(r, ref.split));
  const base: SequenceDataset = roots.length === 1 ? one(roots[0]) : concatDatasets(roots.map(one));
  const ds = ref.delta === undefined ? base : new RotatedDataset(base, { delta: ref.delta });
  const names = ds.names();
  if (names.length === 0) throw new Error(`dataset root ${ref.root} holds no sequences (${ref.layout} layout)`);
  if (!ref.sequences) return ds;
  const missing = ref.sequences.filter((s) => !names.includes(s));
  if (missing.length) throw new Error(`${ref.root}: no sequence named ${missing.join(', ')} (has ${names.join(', ')})`);
  const keep = ref.sequences;
  return { name: ds.name, names: () => [...keep], sequence: (n) => ds.sequence(n) };
}

/** Several datasets as one (names in order; a name found twice is an error naming both roots' datasets). */
export function concatDatasets(parts: SequenceDataset[]): SequenceDataset {
  const owner = new Map<string, SequenceDataset>();
  for (const p of parts) {
    for (const n of p.names()) {
      const prev = owner.get(n);
      if (prev) throw new Error(`sequence "${n}" is in both ${prev.name} and ${p.name}: evaluate them separately`);
      owner.set(n, p);
    }
  }
  return {
    name: parts.map((p) => p.name).join('+'),
    names: () => [...owner.keys()],
    sequence: (n) => {
      const p = owner.get(n);
      if (!p) throw new Error(`no sequence named ${n}`);
      return p.sequence(n);
    },
  };
}
