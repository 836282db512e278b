/**
 * Finding the ffmpeg and ffprobe executables. Order (first that works wins):
 *   1. `FFMPEG_PATH` / `FFPROBE_PATH` environment variables;
 *   2. `ffmpeg-static` (an optionalDependency: it downloads at install time and is absent offline; ships no ffprobe);
 *   3. `@ffmpeg-installer/ffmpeg` / `@ffprobe-installer/ffprobe` (binaries inside the npm package; npm 11 may have
 *      skipped their `chmod u+x` postinstall, so we check the execute bit and set it when we own the file);
 *   4. `ffmpeg` / `ffprobe` on PATH.
 * A candidate "works" when it is an executable file and `-version` runs; the result is cached per process.
 */
import { access, chmod, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { VideoError } from './errors.js';
import { runToEnd, describeExit } from './process.js';

/** Which tool. */
export type BinaryKind = 'ffmpeg' | 'ffprobe';

/** Where a binary came from. */
export type BinarySource = 'env' | 'ffmpeg-static' | 'installer' | 'PATH';

/** A resolved, runnable binary. */
export interface ResolvedBinary {
  /** Absolute (or PATH-found) path of the executable. */
  path: string;
  source: BinarySource;
  /** First line of `-version`, e.g. `ffmpeg version N-47683-g0e8eb07980-static …`. */
  version: string;
  /** Human-readable account of the choice, including candidates that were skipped and why. */
  describe: string;
}

/** Hooks for tests: a fake environment and module loader. Production code passes nothing. */
export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** Loads a package by name (default: dynamic `import`). */
  importModule?: (name: string) => Promise<unknown>;
  /** Bypass the per-process cache. */
  fresh?: boolean;
}

const ENV_VAR: Record<BinaryKind, string> = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' };
const INSTALLER: Record<BinaryKind, string> = {
  ffmpeg: '@ffmpeg-installer/ffmpeg',
  ffprobe: '@ffprobe-installer/ffprobe',
};

/** A binary that does not answer `-version` within this time is not ffmpeg (or is wedged). */
const VERSION_TIMEOUT_MS = 15_000;

const cache = new Map<BinaryKind, Promise<ResolvedBinary>>();

/** The ffmpeg executable to use (cached). Throws VideoError listing every candidate tried when none works. */
export function resolveFfmpeg(options: ResolveOptions = {}): Promise<ResolvedBinary> {
  return resolveCached('ffmpeg', options);
}

/** The ffprobe executable to use (cached). Throws VideoError listing every candidate tried when none works. */
export function resolveFfprobe(options: ResolveOptions = {}): Promise<ResolvedBinary> {
  return resolveCached('ffprobe', options);
}

function resolveCached(kind: BinaryKind, options: ResolveOptions): Promise<ResolvedBinary> {
  const custom = options.fresh || options.env !== undefined || options.importModule !== undefined;
  if (custom) return resolveBinary(kind, options);
  let p = cache.get(kind);
  if (!p) {
    p = resolveBinary(kind, options);
    // A failure is not cached: the user may install ffmpeg or set FFMPEG_PATH and retry without restarting.
    p.catch(() => cache.delete(kind));
    cache.set(kind, p);
  }
  return p;
}

async function resolveBinary(kind: BinaryKind, options: ResolveOptions): Promise<ResolvedBinary> {
  const env = options.env ?? process.env;
  const importModule = options.importModule ?? ((name: string) => import(name));
  const tried: string[] = [];

  const attempt = async (source: BinarySource, label: string, path: string | undefined): Promise<ResolvedBinary | null> => {
    if (!path) return null;
    const problem = await checkRunnable(path);
    if (typeof problem === 'string') {
      tried.push(`${label}: ${path} — ${problem}`);
      return null;
    }
    const skipped = tried.length ? ` (skipped: ${tried.join('; ')})` : '';
    return {
      path,
      source,
      version: problem.version,
      describe: `${kind} from ${label}: ${path} [${problem.version}]${skipped}`,
    };
  };

  // 1. environment variable
  const envVar = ENV_VAR[kind];
  const fromEnv = env[envVar];
  if (fromEnv) {
    const r = await attempt('env', `$${envVar}`, fromEnv);
    if (r) return r;
  } else {
    tried.push(`$${envVar}: not set`);
  }

  // 2. ffmpeg-static (ffmpeg only)
  if (kind === 'ffmpeg') {
    const p = await loadPath(importModule, 'ffmpeg-static', tried);
    const r = await attempt('ffmpeg-static', 'ffmpeg-static', p);
    if (r) return r;
  } else {
    tried.push('ffmpeg-static: ships no ffprobe');
  }

  // 3. @ffmpeg-installer / @ffprobe-installer
  {
    const name = INSTALLER[kind];
    const p = await loadPath(importModule, name, tried);
    const r = await attempt('installer', name, p);
    if (r) return r;
  }

  // 4. PATH
  {
    const p = await findOnPath(kind, env.PATH ?? '');
    if (!p) tried.push(`PATH: no executable "${kind}" in ${env.PATH ? `"${env.PATH}"` : 'an empty PATH'}`);
    const r = await attempt('PATH', 'PATH', p);
    if (r) return r;
  }

  throw new VideoError(
    '',
    `no working ${kind} found; tried:\n${tried.map((t) => `  - ${t}`).join('\n')}\n` +
      `Set ${envVar} to an ${kind} executable, or install ${kind} (apt-get install -y ffmpeg).`,
  );
}

/** The path a binary package exports (`default` string for ffmpeg-static, `.path` for the installers). */
async function loadPath(
  importModule: (name: string) => Promise<unknown>,
  name: string,
  tried: string[],
): Promise<string | undefined> {
  let mod: unknown;
  try {
    mod = await importModule(name);
  } catch (e) {
    // The installer packages throw plain strings; ffmpeg-static is simply not installed offline.
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    tried.push(`${name}: cannot be loaded (${msg})`);
    return undefined;
  }
  const m = mod as { default?: unknown; path?: unknown };
  const d = m.default as { path?: unknown } | string | null | undefined;
  let p: string | undefined;
  if (typeof d === 'string') p = d;
  else if (typeof d?.path === 'string') p = d.path;
  else if (typeof m.path === 'string') p = m.path;
  if (!p) tried.push(`${name}: loaded but exports no binary path (binary download may have failed)`);
  return p;
}

async function findOnPath(kind: BinaryKind, pathVar: string): Promise<string | undefined> {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, kind);
    try {
      await access(p, constants.X_OK);
      if ((await stat(p)).isFile()) return p;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** `{version}` when `path` is a runnable binary, else the reason why not. Sets u+x on files we own that lack it. */
async function checkRunnable(path: string): Promise<{ version: string } | string> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return 'does not exist';
  }
  if (!st.isFile()) return 'is not a file';
  try {
    await access(path, constants.X_OK);
  } catch {
    const uid = process.getuid?.();
    if (uid === undefined || st.uid !== uid) return 'is not executable and is not ours to chmod';
    try {
      await chmod(path, st.mode | 0o100);
      await access(path, constants.X_OK);
    } catch (e) {
      return `is not executable and chmod u+x failed (${(e as Error).message})`;
    }
  }
  const { exit, stdout, stderr } = await runToEnd(path, ['-hide_banner', '-version'], VERSION_TIMEOUT_MS);
  if (exit.error || exit.code !== 0) {
    return `"-version" failed (${describeExit(exit)}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''})`;
  }
  return { version: stdout.split('\n')[0].replace(/\s+Copyright.*$/, '').trim() };
}
