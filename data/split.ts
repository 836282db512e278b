/**
 * Train / validation / test splits by sequence (`data/splits/*.json`): which real annotated sequences may be trained
 * on, which select models, and which are evaluated. A split file names each dataset by the folder name of its root
 * (`otb-real` for `../shared/data/otb-real`); a sequence may appear on one side only.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Sides of a split. */
export const SPLIT_SIDES = ['train', 'val', 'test'] as const;
export type SplitSide = (typeof SPLIT_SIDES)[number];

const Side = z.array(z.string().min(1));
/** Schema of a split file. */
export const SequenceSplitFile = z
  .object({
    description: z.string().optional(),
    datasets: z.record(z.object({ train: Side.default([]), val: Side.default([]), test: Side.default([]) }).strict()),
  })
  .strict();
export type SequenceSplitFile = z.infer<typeof SequenceSplitFile>;

/** The project's committed split of the real sequences under ../shared/data. */
export const DEFAULT_SPLIT_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'splits', 'real-sequences.json');

/** Read and check a split file; errors name the file and the field (and a sequence listed on two sides). */
export function loadSequenceSplit(file: string): SequenceSplitFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the split file (${(e as Error).message})`);
  }
  const r = SequenceSplitFile.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${file}: field "${i.path.join('.')}": ${i.message}`);
  }
  for (const [ds, sides] of Object.entries(r.data.datasets)) {
    const seen = new Map<string, SplitSide>();
    for (const side of SPLIT_SIDES) {
      for (const name of sides[side]) {
        const prev = seen.get(name);
        if (prev) throw new Error(`${file}: field "datasets.${ds}.${side}": sequence "${name}" is also in "${prev}"`);
        seen.set(name, side);
      }
    }
  }
  return r.data;
}

/**
 * The sequence names of `side` for the dataset at `root` (matched by the root's folder name). Throws naming the
 * file when the split has no entry for it, or when a listed sequence is not among `available`.
 */
export function splitSequences(file: string, root: string, side: SplitSide, available?: readonly string[]): string[] {
  const split = loadSequenceSplit(file);
  const key = path.basename(path.resolve(root));
  const entry = split.datasets[key];
  if (!entry) throw new Error(`${file}: no entry for dataset "${key}" (root ${root}); it has ${Object.keys(split.datasets).join(', ')}`);
  const names = entry[side];
  if (available) {
    const missing = names.filter((n) => !available.includes(n));
    if (missing.length) throw new Error(`${file}: datasets.${key}.${side} names ${missing.join(', ')}, not found in ${root}`);
  }
  return [...names];
}
