/**
 * Evaluation reports written by eval/ (`writeReport`: report.md, report.json, success/precision plots as PNG + SVG),
 * one folder per run under the configured `evalDir`. The server only lists and serves them: names are checked
 * against strict patterns and resolved inside `evalDir`, so no client path ever reaches the file system.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from './errors.js';
import type { EvalReportInfo } from './protocol.js';

const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(md|json|png|svg)$/;

/** MIME type of a report file by extension. */
export const REPORT_MIME: Record<string, string> = {
  md: 'text/markdown; charset=utf-8',
  json: 'application/json',
  png: 'image/png',
  svg: 'image/svg+xml',
};

/** Lists and locates report files. */
export class EvalReports {
  constructor(readonly root: string) {}

  /** Run folders that hold a report.md, newest first; empty when the folder does not exist. */
  async list(): Promise<EvalReportInfo[]> {
    let dirs: string[];
    try {
      dirs = (await readdir(this.root, { withFileTypes: true })).filter((d) => d.isDirectory() && RUN_NAME.test(d.name)).map((d) => d.name);
    } catch {
      return [];
    }
    const out: EvalReportInfo[] = [];
    for (const name of dirs) {
      const dir = path.join(this.root, name);
      try {
        const st = await stat(path.join(dir, 'report.md'));
        const files = (await readdir(dir)).filter((f) => FILE_NAME.test(f)).sort();
        out.push({ name, modified: st.mtime.toISOString(), files });
      } catch {
        // not a report folder
      }
    }
    return out.sort((a, b) => b.modified.localeCompare(a.modified));
  }

  /** Absolute path of `file` in run `run`; AppError 400 for names that are not plain report file names, 404 if absent. */
  async file(run: string, file: string): Promise<{ path: string; mime: string }> {
    if (!RUN_NAME.test(run) || run.includes('..')) throw new AppError('bad_request', 'invalid report name', 400);
    if (!FILE_NAME.test(file) || file.includes('..')) throw new AppError('bad_request', 'invalid report file name (allowed: *.md, *.json, *.png, *.svg)', 400);
    const root = path.resolve(this.root);
    const p = path.resolve(root, run, file);
    if (!p.startsWith(root + path.sep)) throw new AppError('bad_request', 'invalid report path', 400);
    try {
      if (!(await stat(p)).isFile()) throw new Error('not a file');
    } catch {
      throw new AppError('not_found', `report "${run}" has no file "${file}"`, 404);
    }
    return { path: p, mime: REPORT_MIME[file.slice(file.lastIndexOf('.') + 1)] };
  }
}
