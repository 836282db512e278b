/**
 * Opens the training dataset a config names: a GOT-10k split, an OTB-layout folder, or synthetic sequences generated
 * into the data root (GOT-10k layout, data/synthetic.ts) unless they are already there. Errors name the root.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { SequenceDataset } from '../data/dataset.js';
import { Got10kDataset } from '../data/got10k.js';
import { OtbDataset } from '../data/otb.js';
import { SyntheticConfigSchema, writeSyntheticDataset } from '../data/synthetic.js';
import type { TrainConfig } from './config.js';

/** Open the dataset of `data` (config field `data`); `log` receives a line when synthetic data is generated. */
export async function openTrainingDataset(
  data: TrainConfig['data'],
  log: (line: string) => void = () => undefined,
): Promise<SequenceDataset> {
  if (!data.root) throw new Error('config field "data.root": no data root given (use --data <root>)');
  const root = path.resolve(data.root);
  if (data.layout === 'synthetic') {
    if (!existsSync(path.join(root, data.split, 'list.txt'))) {
      const parsed = SyntheticConfigSchema.safeParse(data.synthetic);
      if (!parsed.success) {
        const i = parsed.error.issues[0];
        throw new Error(`config field "data.synthetic.${i.path.join('.')}": ${i.message}`);
      }
      log(`[data] generating ${parsed.data.count} synthetic sequences into ${root}`);
      await writeSyntheticDataset(root, parsed.data, 'got10k', { split: data.split });
    }
    return new Got10kDataset(root, data.split, { name: `synthetic-${data.split}` });
  }
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new Error(`${root}: data root does not exist or is not a folder (config field "data.root")`);
  }
  if (data.layout === 'got10k') return new Got10kDataset(root, data.split);
  const otb = new OtbDataset(root, { name: path.basename(root) });
  if (otb.names().length === 0) throw new Error(`${root}: no OTB-layout sequence folders (with img/) found`);
  return otb;
}
