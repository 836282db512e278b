/**
 * The browser bundles: `client/src/<page>.ts` bundled by esbuild on first request (or at start), kept in memory.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './config.js';
import { AppError } from './errors.js';

/** The client entry points, one per page. */
export const CLIENT_PAGES = ['upload', 'webcam', 'eval', 'classifier'] as const;
export type ClientPage = (typeof CLIENT_PAGES)[number];

/** Bundles every page once; later calls return the cached code. */
export class ClientBundles {
  private built: Promise<Map<string, string>> | null = null;

  constructor(private readonly srcDir = path.join(ROOT, 'client', 'src')) {}

  /** Build (once) and return `page`'s JavaScript. */
  async get(page: string): Promise<string> {
    if (!(CLIENT_PAGES as readonly string[]).includes(page)) throw new AppError('not_found', `no script "${page}.js"`, 404);
    const all = await this.buildAll();
    const js = all.get(page);
    if (js === undefined) throw new AppError('internal', `bundle of ${page} missing`, 500);
    return js;
  }

  /** Build every page (called at start so the first visitor does not wait). */
  buildAll(): Promise<Map<string, string>> {
    if (!this.built) {
      this.built = this.doBuild();
      this.built.catch(() => {
        this.built = null;
      });
    }
    return this.built;
  }

  private async doBuild(): Promise<Map<string, string>> {
    const result = await build({
      entryPoints: Object.fromEntries(CLIENT_PAGES.map((p) => [p, path.join(this.srcDir, `${p}.ts`)])),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: ['chrome110', 'firefox110'],
      outdir: '/bundle',
      sourcemap: false,
      minify: false,
      logLevel: 'silent',
    });
    const out = new Map<string, string>();
    for (const f of result.outputFiles) out.set(path.basename(f.path, '.js'), f.text);
    return out;
  }
}
