/**
 * CLI `npm run data:real`: build the still-image training set from the photographs installed on this machine
 * (Debian packages, data/image-sources.ts) and/or the user's own folders of images and videos.
 *
 *   npm run data:real -- --out runs/data/real-stills
 *   npm run data:real -- --out my-stills --sources none --images ~/Pictures --images ~/Videos
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEBIAN_SOURCES, folderSource } from '../image-sources.js';
import { buildStillsDataset } from '../real-stills.js';
import { StillsConfigSchema } from '../stills.js';
import { type Writer, UsageError, cliMain, runIfScript } from './cli-kit.js';

const HELP = `Usage: data:real --out <dir> [options]

Turns real photographs into still-image tracking sequences (GOT-10k layout, <out>/train and <out>/val): an
object-like region of each photograph moves over it with translation, scale and aspect change, in-plane rotation,
occlusion, distractor copies, illumination change and blur. Sources not installed are skipped with one line; bad
files (unreadable, tiny, huge, grey, flat graphics) are skipped with a line naming the file. <out>/stills-manifest.json
lists every photograph used with its source and licence.

Debian sources (apt-get install -y <package>; --sources picks some, 'none' for your folders only):
${DEBIAN_SOURCES.map((s) => `  ${s.id.padEnd(11)} ${s.package!.padEnd(28)} ${s.description}`).join('\n')}

Options:
  --out <dir>              output folder (required; must not hold a stills set already)
  --sources <ids|all|none> Debian sources to use (default all)
  --images <dir>           a folder of your own images and videos (repeatable)
  --per-image <n>          sequences (targets) per photograph (default 3)
  --frames <n>             frames per sequence (default 40)
  --frame-side <px>        longer side of the frames (default 400)
  --rotation-rate <deg>    maximum target rotation, degrees per frame (default 3)
  --max-images <n>         use at most n photographs (seeded choice)
  --hold-out <f>           share of photographs written to the val split (default 0.1)
  --video-stride <n>       one still every n frames of a video (default 60), at most --per-video (default 8)
  --per-video <n>
  --seed <n>               integer seed (default 1); the same inputs and options give the same bytes
  --help                   this text
`;

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`${flag}: "${v}" is not a non-negative integer`);
  return n;
}

function real(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag}: "${v}" is not a number`);
  return n;
}

async function run(argv: string[], out: Writer, err: Writer): Promise<number> {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        out: { type: 'string' }, sources: { type: 'string', default: 'all' }, images: { type: 'string', multiple: true },
        'per-image': { type: 'string' }, frames: { type: 'string' }, 'frame-side': { type: 'string' },
        'rotation-rate': { type: 'string' }, 'max-images': { type: 'string' }, 'hold-out': { type: 'string' },
        'video-stride': { type: 'string' }, 'per-video': { type: 'string' }, seed: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) {
    out.write(HELP);
    return 0;
  }
  if (!values.out) throw new UsageError('--out is required');
  const ids = String(values.sources);
  const known = DEBIAN_SOURCES.map((s) => s.id);
  const wanted = ids === 'all' ? known : ids === 'none' ? [] : ids.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !known.includes(w));
  if (unknown.length) throw new UsageError(`--sources: unknown source ${unknown.join(', ')} (known: ${known.join(', ')}, all, none)`);
  const folders = (values.images as string[] | undefined) ?? [];
  const sources = [...DEBIAN_SOURCES.filter((s) => wanted.includes(s.id)), ...folders.map((d, i) => folderSource(d, i))];
  if (sources.length === 0) throw new UsageError('no source: give --sources or --images <dir>');
  const raw = {
    sequencesPerImage: int('--per-image', values['per-image'] as string | undefined),
    frames: int('--frames', values.frames as string | undefined),
    frameSide: int('--frame-side', values['frame-side'] as string | undefined),
    rotationRate: real('--rotation-rate', values['rotation-rate'] as string | undefined),
    seed: int('--seed', values.seed as string | undefined),
  };
  const parsed = StillsConfigSchema.safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(`${String(i.path[0])}: ${i.message}`);
  }
  const holdOut = real('--hold-out', values['hold-out'] as string | undefined) ?? 0.1;
  if (holdOut < 0 || holdOut > 0.5) throw new UsageError(`--hold-out: ${holdOut} is not in [0, 0.5]`);
  if (existsSync(path.join(String(values.out), 'stills-manifest.json'))) {
    throw new UsageError(`--out: ${values.out} already holds a stills set (stills-manifest.json); choose another folder`);
  }
  const t0 = performance.now();
  const m = await buildStillsDataset({
    out: String(values.out), sources, config: parsed.data, holdOut,
    maxImages: int('--max-images', values['max-images'] as string | undefined),
    videoStride: int('--video-stride', values['video-stride'] as string | undefined),
    maxPerVideo: int('--per-video', values['per-video'] as string | undefined),
    log: (l) => err.write(l + '\n'),
  });
  const perSource = new Map<string, number>();
  for (const i of m.images) perSource.set(i.source, (perSource.get(i.source) ?? 0) + 1);
  out.write(`used ${m.counts.images} photographs (${[...perSource].map(([s, n]) => `${s} ${n}`).join(', ')}), skipped ${m.counts.skipped} files; ` +
    `wrote ${m.counts.train} train and ${m.counts.val} val sequences to ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}

/** Run the CLI on `argv` (without node and script); resolves to the exit code (0 ok, 2 usage error, 1 failure). */
export const main = cliMain('data:real', run);

runIfScript(import.meta.url, main);
