/**
 * `npm run bench:soak`: RSS over a long run of training steps (issue 15: growth < 5% between step 200 and step 2,000).
 * The step is training/train-tracker.ts's (training/soak.ts): a shipped CPU-scale model with its own training config
 * (optimiser, IEN equivariance loss), batch 8 (+ 8 rotated copies for IEN), fresh random crops every step, on the auto
 * backend (native-cpu here). Prints RSS and live tensors at the sampled steps and writes them as JSON.
 *
 *   npm run bench:soak -- [--model siamfc | ien-siamfc] [--steps 2000] [--batch 8] [--threads 1] [--out reports/engines/soak-<model>.json]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend } from '../tracker/node/backend.js';
import { setNativeThreads } from '../tracker/node/native-backend.js';
import { loadTracker } from '../tracker/node/load-tracker.js';
import { parseTrainConfig } from '../training/config.js';
import { createOptimizer } from '../training/optimizers.js';
import { configHooks } from '../training/train-tracker.js';
import { rssGrowth, soakSteps } from '../training/soak.js';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'siamfc' }, steps: { type: 'string', default: '2000' }, batch: { type: 'string', default: '8' },
    threads: { type: 'string' }, out: { type: 'string' },
  },
});
const steps = Number(a.steps);
if (!Number.isInteger(steps) || steps < 200) throw new Error(`--steps must be an integer ≥ 200, got ${a.steps}`);
const backend = await initBackend({ log: () => {} });
if (a.threads && backend === 'native-cpu') setNativeThreads(Number(a.threads));
const loaded = await loadTracker(a.model!);
const cfg = parseTrainConfig(loaded.manifest?.provenance?.config ?? {}, `${a.model} provenance.config`);
const net = loaded.net;
const optimizer = createOptimizer(cfg.optimizer, net.backbone.trainableVariables());
const sampleAt = new Set([1, 10, 50, 100, 200, steps]);
for (let s = 250; s < steps; s += 250) sampleAt.add(s);
const load0 = loadavg();
console.log(`[soak] ${a.model}, ${steps} steps, batch ${a.batch}, optimiser ${cfg.optimizer.kind}, backend ${backend}` +
  `${a.threads ? `, ${a.threads} threads` : ''}; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
const mb = (b: number) => (b / 2 ** 20).toFixed(1);
const t0 = performance.now();
const samples = soakSteps({
  net, optimizer, hooks: configHooks(cfg), steps, batch: Number(a.batch), sampleAt,
  onSample: (s) => console.log(`[soak] step ${String(s.step).padStart(5)}: RSS ${mb(s.rss).padStart(7)} MB, ${s.numTensors} tensors, ` +
    `${s.numDataBuffers} buffers, step ${s.ms.toFixed(0)} ms, load ${loadavg()[0].toFixed(2)}`),
});
const growth = rssGrowth(samples, 200, steps);
const minutes = (performance.now() - t0) / 60000;
console.log(`[soak] RSS growth between step 200 and step ${steps}: ${(100 * growth).toFixed(2)}% (target < 5%); ${minutes.toFixed(1)} min`);
const out = a.out ?? `reports/engines/soak-${a.model}.json`;
writeFileSync(out, JSON.stringify({
  model: a.model, steps, batch: Number(a.batch), backend, threads: a.threads ?? null, optimiser: cfg.optimizer.kind,
  loadBefore: load0, loadAfter: loadavg(), minutes, rssGrowth200ToEnd: growth, samples, date: new Date().toISOString(),
}, null, 2) + '\n');
console.log(`[soak] wrote ${out}`);
optimizer.dispose();
loaded.dispose();
