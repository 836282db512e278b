/**
 * Where real photographs come from on a machine without dataset downloads: Debian packages that ship photographs
 * and sample videos (sample data of OpenCV, scikit-image, dlib and matplotlib; desktop wallpapers), and any folder
 * of images or videos a user names. Every file is checked from its header before it is decoded: unreadable, tiny,
 * huge, grey and flat (graphic, not photographic) files are skipped with a line naming the file.
 */
import { existsSync, promises as fsp, statSync } from 'node:fs';
import * as path from 'node:path';
import sharp, { type Metadata } from 'sharp';

/** Image and video extensions a source may hold (lower case, with the dot). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.bmp'] as const;
export const VIDEO_EXTENSIONS = ['.avi', '.mp4', '.mkv', '.mov', '.webm', '.mpg', '.mpeg'] as const;

/** One place photographs come from. */
export interface ImageSource {
  /** Short id used in manifests and on the command line (`--sources opencv,skimage`). */
  id: string;
  /** Debian package that installs it (`apt-get install -y <package>`); absent for a user's folder. */
  package?: string;
  /** Licence as the package's copyright file states it (summary; the file is named in `copyright`). */
  licence: string;
  /** The package's copyright file, where the licence of every image is given. */
  copyright?: string;
  /** Folders searched (recursively). */
  dirs: string[];
  /** File names (base names, case-insensitive) that are not photographs and are left out. */
  exclude?: RegExp;
  /** Keep one file per folder (wallpaper packages ship one picture at many resolutions). */
  onePerFolder?: boolean;
  /** Search sub-folders too (default true). */
  recursive?: boolean;
  /** What it gives, for the README and `--help`. */
  description: string;
}

/** The Debian packages known to ship real photographs or sample videos (Debian 12). */
export const DEBIAN_SOURCES: readonly ImageSource[] = [
  {
    id: 'opencv', package: 'opencv-doc', licence: 'BSD-3-Clause / Apache-2.0 (OpenCV sample data)',
    copyright: '/usr/share/doc/opencv-doc/copyright', dirs: ['/usr/share/doc/opencv-doc/examples/data'],
    exclude: /(logo|chessboard|digits|text|sudoku|gradient|alphabet|letter|notes|^pic\d|ellipses|mask|blob|graf\d|^ml\.|left\d|right\d|aloegt|cards|smarties|box\.png|data01)/i,
    description: 'OpenCV sample photographs (fruits, baboon, building, messi, butterfly, …) and videos (vtest.avi, tree.avi, Megamind.avi)',
  },
  {
    id: 'skimage', package: 'python3-skimage', licence: 'BSD-3-Clause; images CC0 / public domain (scikit-image data/README.txt)',
    copyright: '/usr/share/doc/python3-skimage/copyright', dirs: ['/usr/lib/python3/dist-packages/skimage/data'],
    exclude: /(chessboard|checker|logo|text|palette|phantom|page|horse|foo3x5|green_palette|blobs|cell|microaneurysms|no_time|screenshot)/i,
    description: 'scikit-image sample photographs (astronaut, chelsea, coffee, rocket, motorcycle, …)',
  },
  {
    id: 'dlib', package: 'libdlib19.1', licence: 'Boost-1.0 (dlib); example photographs as in its copyright file',
    copyright: '/usr/share/doc/libdlib19.1/copyright', dirs: ['/usr/share/doc/libdlib19.1/examples/faces', '/usr/share/doc/libdlib19.1/examples/video_frames'],
    description: 'dlib example photographs of people (faces/) and the BoBoT juice-box frames (grey, so skipped)',
  },
  {
    id: 'matplotlib', package: 'python3-matplotlib', licence: 'matplotlib licence (PSF-style); sample data as in its copyright file',
    copyright: '/usr/share/doc/python3-matplotlib/copyright', dirs: ['/usr/share/matplotlib/mpl-data/sample_data'],
    exclude: /(logo|minduka)/i,
    description: 'matplotlib sample photograph (grace_hopper.jpg)',
  },
  {
    id: 'plasma', package: 'plasma-workspace-wallpapers', licence: 'GPL-2+ / LGPL-3 / CC-BY-SA (per wallpaper, see copyright)',
    copyright: '/usr/share/doc/plasma-workspace-wallpapers/copyright', dirs: ['/usr/share/wallpapers'], onePerFolder: true,
    description: 'KDE Plasma wallpapers: landscapes, leaves, cups, kites, … (one resolution of each is used)',
  },
  {
    id: 'mate', package: 'mate-backgrounds', licence: 'GPL-2+ / CC-BY-SA-4.0',
    copyright: '/usr/share/doc/mate-backgrounds/copyright', dirs: ['/usr/share/backgrounds/mate/nature', '/usr/share/backgrounds/mate/desktop'],
    description: 'MATE desktop backgrounds (nature photographs)',
  },
  {
    id: 'wallpapers', package: 'ukui-wallpapers lomiri-wallpapers', licence: 'CC-BY-SA-3.0 (ukui) / CC-BY-4.0, CC-BY-SA-3.0/4.0 (lomiri)',
    copyright: '/usr/share/doc/ukui-wallpapers/copyright', dirs: ['/usr/share/backgrounds'], recursive: false,
    exclude: /(default-background|warty|fluent|pattern|rollpaper|painting)/i,
    description: 'UKUI and Lomiri wallpapers in /usr/share/backgrounds (photographs of landscapes, animals, cities)',
  },
];

/** Limits of the file checks. */
export interface ImageCheckLimits {
  /** Smaller side below this (pixels) → "tiny". */
  minSide: number;
  /** More pixels than this (from the header) → "huge" (never decoded). */
  maxPixels: number;
  /** Bigger files than this (bytes) → "huge". */
  maxBytes: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageCheckLimits = { minSide: 128, maxPixels: 40e6, maxBytes: 60 * 1024 * 1024 };

/** A file found in a source, before checks. */
export interface FoundFile {
  file: string;
  source: string;
  kind: 'image' | 'video';
}

/** Result of listing sources: the files, and one line per source that is not installed or has nothing. */
export interface Discovery {
  files: FoundFile[];
  missing: string[];
}

async function walk(dir: string, out: string[], depth = 0, maxDepth = 6): Promise<void> {
  if (depth > maxDepth) return;
  let ents: import('node:fs').Dirent[];
  try {
    ents = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of ents.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const st = statSync(p);
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch {
        continue;
      }
    }
    if (isDir) await walk(p, out, depth + 1, maxDepth);
    else if (isFile) out.push(p);
  }
}

function kindOf(file: string): 'image' | 'video' | null {
  const ext = path.extname(file).toLowerCase();
  if ((IMAGE_EXTENSIONS as readonly string[]).includes(ext)) return 'image';
  if ((VIDEO_EXTENSIONS as readonly string[]).includes(ext)) return 'video';
  return null;
}

/** Keep, per folder, the image whose width is closest to 1280 px (names like `1920x1080.jpg`), else the first. */
function onePerFolder(files: string[]): string[] {
  const byDir = new Map<string, string[]>();
  for (const f of files) byDir.set(path.dirname(f), [...(byDir.get(path.dirname(f)) ?? []), f]);
  const out: string[] = [];
  for (const group of byDir.values()) {
    const score = (f: string): number => {
      const m = /(\d{3,5})x(\d{3,5})/.exec(path.basename(f));
      return m ? Math.abs(Number(m[1]) - 1280) : 1e9;
    };
    out.push([...group].sort((a, b) => score(a) - score(b) || a.localeCompare(b))[0]);
  }
  return out;
}

/** List the files of `sources`; a source whose folders do not exist gives one line in `missing` naming its package. */
export async function discoverFiles(sources: readonly ImageSource[]): Promise<Discovery> {
  const files: FoundFile[] = [];
  const missing: string[] = [];
  for (const s of sources) {
    const dirs = s.dirs.filter((d) => existsSync(d));
    if (dirs.length === 0) {
      missing.push(s.package
        ? `[data] source "${s.id}" skipped: not installed (apt-get install -y ${s.package})`
        : `[data] source "${s.id}" skipped: ${s.dirs.join(', ')} does not exist`);
      continue;
    }
    let all: string[] = [];
    for (const d of dirs) await walk(d, all, 0, s.recursive === false ? 0 : 6);
    all = all.filter((f) => kindOf(f) !== null && !(s.exclude && s.exclude.test(path.basename(f))));
    const images = all.filter((f) => kindOf(f) === 'image');
    const kept = s.onePerFolder ? onePerFolder(images) : images;
    const before = files.length;
    for (const f of kept) files.push({ file: f, source: s.id, kind: 'image' });
    for (const f of all.filter((f) => kindOf(f) === 'video')) files.push({ file: f, source: s.id, kind: 'video' });
    if (files.length === before) missing.push(`[data] source "${s.id}" skipped: no images or videos in ${dirs.join(', ')}`);
  }
  return { files, missing };
}

/** A user's folder as a source. */
export function folderSource(dir: string, index: number): ImageSource {
  return { id: `folder${index + 1}`, licence: 'as its owner says', dirs: [path.resolve(dir)], description: `images and videos under ${dir}` };
}

/** Why a file is not used (one line naming the file), or null when it is usable. */
export async function checkImageHeader(file: string, limits: ImageCheckLimits = DEFAULT_IMAGE_LIMITS): Promise<string | null> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    return `${file}: unreadable (${(e as Error).message})`;
  }
  if (size > limits.maxBytes) return `${file}: huge (${(size / 1048576).toFixed(0)} MB > ${(limits.maxBytes / 1048576).toFixed(0)} MB)`;
  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch (e) {
    return `${file}: unreadable (${(e as Error).message.split('\n')[0]})`;
  }
  const { width, height } = meta;
  if (!width || !height) return `${file}: unreadable (no image size in the header)`;
  if (width * height > limits.maxPixels) return `${file}: huge (${width}×${height} > ${(limits.maxPixels / 1e6).toFixed(0)} MP)`;
  if (Math.min(width, height) < limits.minSide) return `${file}: tiny (${width}×${height}, smaller side < ${limits.minSide} px)`;
  if ((meta.channels ?? 3) < 3 || meta.space === 'b-w') return `${file}: grey (${meta.channels} channel${meta.channels === 1 ? '' : 's'})`;
  return null;
}

/**
 * Content checks on a decoded thumbnail (`[h, w, 3]` RGB bytes): grey when the channels barely differ, flat
 * (a graphic, a logo, a plain colour) when it has few distinct colours. Null when it looks photographic.
 */
export function checkImageContent(file: string, rgb: Uint8Array): string | null {
  const n = rgb.length / 3;
  let chroma = 0;
  const colours = new Set<number>();
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
    chroma += Math.max(r, g, b) - Math.min(r, g, b);
    colours.add(((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3));
  }
  if (chroma / Math.max(1, n) < 4) return `${file}: grey (colour channels equal)`;
  if (colours.size < 300) return `${file}: flat (${colours.size} distinct colours: a graphic, not a photograph)`;
  return null;
}
