/**
 * Opens the training dataset a config names: a GOT-10k split, an OTB-layout folder, synthetic sequences generated
 * into the data root (GOT-10k layout, data/synthetic.ts) unless they are already there, or a weighted mix of such
 * sources (config `data.sources`), among them the real-photograph stills of `npm run data:real` and real sequences
 * through a committed split. Errors name the config field and the root.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Sequence, SequenceDataset } from '../data/dataset.js';
import { Got10kDataset } from '../data/got10k.js';
import { OtbDataset } from '../data/otb.js';
import { splitSequences } from '../data/split.js';
import { SyntheticConfigSchema, writeSyntheticDataset } from '../data/synthetic.js';
import type { DataSource, TrainConfig } from './config.js';

/** A training dataset made of several sources; names are `<source>/<sequence>`. */
export interface MixedDataset extends SequenceDataset {
  /** The sources in config order with their weights and sequence names (unprefixed). */
  readonly sources: { name: string; layout: DataSource['layout']; root: string; weight: number; sequenceSplit?: string; names: string[] }[];
  /** Index of the source of a (prefixed) sequence name. */
  sourceOf(name: string): number;
}

/** True when `ds` is a mix of sources. */
export function isMixedDataset(ds: SequenceDataset): ds is MixedDataset {
  return typeof (ds as Partial<MixedDataset>).sourceOf === 'function';
}

async function openSynthetic(root: string, split: 'train' | 'val', synthetic: Record<string, unknown>, field: string, log: (l: string) => void): Promise<SequenceDataset> {
  if (!existsSync(path.join(root, split, 'list.txt'))) {
    const parsed = SyntheticConfigSchema.safeParse(synthetic);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new Error(`config field "${field}.synthetic.${i.path.join('.')}": ${i.message}`);
    }
    log(`[data] generating ${parsed.data.count} synthetic sequences into ${root}`);
    await writeSyntheticDataset(root, parsed.data, 'got10k', { split });
  }
  return new Got10kDataset(root, split, { name: `synthetic-${split}` });
}

function requireFolder(root: string, field: string): void {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new Error(`config field "${field}.root": ${root} does not exist or is not a folder`);
  }
}

/** A dataset restricted to `names` (in that order). */
function restrict(ds: SequenceDataset, names: string[]): SequenceDataset {
  return { name: ds.name, names: () => [...names], sequence: (n) => ds.sequence(n) };
}

/** Open one source of a mix (`field` names it in errors, e.g. `data.sources[1]`). */
export async function openSource(src: DataSource, field: string, log: (l: string) => void = () => undefined): Promise<SequenceDataset> {
  const root = path.resolve(src.root);
  if (src.layout === 'synthetic') return openSynthetic(root, src.split, src.synthetic, field, log);
  if (src.layout === 'stills') {
    if (!existsSync(path.join(root, src.split, 'list.txt'))) {
      throw new Error(`config field "${field}.root": ${src.root} holds no still-image set (${src.split}/list.txt); ` +
        `build it with: npm run data:real -- --out ${src.root}`);
    }
    return new Got10kDataset(root, src.split, { name: `stills-${src.split}` });
  }
  requireFolder(root, field);
  if (src.layout === 'got10k') return new Got10kDataset(root, src.split);
  const otb = new OtbDataset(root, { name: path.basename(root) });
  if (otb.names().length === 0) throw new Error(`config field "${field}.root": ${root} has no OTB-layout sequence folders (with img/)`);
  return src.sequenceSplit ? splitSide(otb, src.sequenceSplit, root, 'train', field) : otb;
}

/** `otb` restricted to one side of a split file; errors name `<field>.sequenceSplit`. */
function splitSide(otb: OtbDataset, file: string, root: string, side: 'train' | 'val', field: string): SequenceDataset {
  let names: string[];
  try {
    names = splitSequences(file, root, side, otb.names());
  } catch (e) {
    throw new Error(`config field "${field}.sequenceSplit": ${(e as Error).message}`);
  }
  if (names.length === 0) throw new Error(`config field "${field}.sequenceSplit": ${file} lists no ${side} sequence for ${root}`);
  return restrict(otb, names);
}

/** Open every source of `data.sources` (all checked before any is used) as one MixedDataset. */
export async function openMixedDataset(sources: readonly DataSource[], log: (l: string) => void = () => undefined): Promise<MixedDataset> {
  const opened: { name: string; src: DataSource; ds: SequenceDataset; names: string[] }[] = [];
  const used = new Set<string>();
  for (const [i, src] of sources.entries()) {
    const field = `data.sources[${i}]`;
    const name = src.name ?? `${src.layout}${i}`;
    if (used.has(name)) throw new Error(`config field "${field}.name": "${name}" is used by another source`);
    used.add(name);
    const ds = await openSource(src, field, log);
    const names = ds.names().slice(0, src.maxSequences ?? Infinity);
    if (names.length === 0) throw new Error(`config field "${field}": ${src.root} holds no sequence`);
    opened.push({ name, src, ds, names });
  }
  const index = new Map<string, number>();
  opened.forEach((o, k) => o.names.forEach((n) => index.set(`${o.name}/${n}`, k)));
  const all = opened.flatMap((o) => o.names.map((n) => `${o.name}/${n}`));
  for (const o of opened) log(`[data] source ${o.name} (${o.src.layout}, ${o.src.root}): ${o.names.length} sequences, weight ${o.src.weight}`);
  return {
    name: `mix(${opened.map((o) => o.name).join('+')})`,
    names: () => [...all],
    sequence: async (n: string): Promise<Sequence> => {
      const k = index.get(n);
      if (k === undefined) throw new Error(`training mix: no sequence named ${n}`);
      const o = opened[k];
      const seq = await o.ds.sequence(n.slice(o.name.length + 1));
      return { ...seq, name: n };
    },
    sources: opened.map((o) => ({
      name: o.name, layout: o.src.layout, root: o.src.root, weight: o.src.weight,
      ...(o.src.sequenceSplit ? { sequenceSplit: o.src.sequenceSplit } : {}), names: o.names,
    })),
    sourceOf: (n: string) => {
      const k = index.get(n);
      if (k === undefined) throw new Error(`training mix: no sequence named ${n}`);
      return k;
    },
  };
}

/** Open the dataset of `data` (config field `data`); `log` receives a line when synthetic data is generated. */
export async function openTrainingDataset(
  data: TrainConfig['data'],
  log: (line: string) => void = () => undefined,
): Promise<SequenceDataset> {
  if (data.sources) return openMixedDataset(data.sources, log);
  if (!data.root) throw new Error('config field "data.root": no data root given (use --data <root>)');
  const root = path.resolve(data.root);
  if (data.layout === 'synthetic') return openSynthetic(root, data.split, data.synthetic, 'data', log);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new Error(`${root}: data root does not exist or is not a folder (config field "data.root")`);
  }
  if (data.layout === 'got10k') return new Got10kDataset(root, data.split);
  const otb = new OtbDataset(root, { name: path.basename(root) });
  if (otb.names().length === 0) throw new Error(`${root}: no OTB-layout sequence folders (with img/) found`);
  return otb;
}

/** Open the validation dataset of config field `validation` at `root` (the `val` side of its split file, if any). */
export async function openValidationDataset(
  root: string,
  v: { layout: 'got10k' | 'otb' | 'synthetic'; split: 'train' | 'val'; synthetic: Record<string, unknown>; sequenceSplit?: string },
  log: (line: string) => void = () => undefined,
): Promise<SequenceDataset> {
  if (!v.sequenceSplit) return openTrainingDataset({ root, layout: v.layout, split: v.split, synthetic: v.synthetic }, log);
  if (v.layout !== 'otb') throw new Error('config field "validation.sequenceSplit": only for layout "otb"');
  requireFolder(path.resolve(root), 'validation');
  const otb = new OtbDataset(path.resolve(root), { name: path.basename(path.resolve(root)) });
  return splitSide(otb, v.sequenceSplit, root, 'val', 'validation');
}
