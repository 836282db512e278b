/**
 * Shared setup of the ONNX tests: the tfjs backend (native-cpu when its add-on is built, else cpu) and the
 * onnxruntime-node gate — when it cannot load, the tests skip loudly, except under CI=true where they fail.
 */
import { tf } from '../../tracker/tf.js';
import { registerNativeBackend } from '../../tracker/node/native-backend.js';
import { loadOrt } from '../../tracker/node/onnx/ort.js';

/** Set the tfjs backend for the reference side. */
export async function referenceBackend(): Promise<string> {
  const name = registerNativeBackend().ok ? 'native-cpu' : 'cpu';
  await tf.setBackend(name);
  await tf.ready();
  return name;
}

const ort = loadOrt();
if (!ort.ok) {
  if (process.env.CI === 'true') throw new Error(`ONNX tests: ${ort.reason} (CI=true: failing instead of skipping)`);
  console.error(`\n!!! ONNX tests SKIPPED: ${ort.reason}\n`);
}

/** `{ skip }` option for node:test: false when onnxruntime-node loaded, else the reason. */
export const ortSkip: { skip: string | false } = { skip: ort.ok ? false : ort.reason };

/** max |a − b| / max |b| (b is the reference). */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs reference ${b.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}
