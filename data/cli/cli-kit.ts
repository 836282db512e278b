/**
 * What the data CLIs share: the usage-error type (exit 2), the writer they print to (process streams, or collectors
 * in tests), and the `main` wrapper that turns errors into a one-line message and an exit code.
 */
import { pathToFileURL } from 'node:url';

/** A bad command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

/** Where a CLI writes (process.stdout/stderr, or a collector in tests). */
export interface Writer {
  write(s: string): unknown;
}

/** A CLI body: resolves to its exit code; throws UsageError (exit 2) or any other error (exit 1). */
export type CliRun = (argv: string[], out: Writer, err: Writer) => Promise<number>;

/** `main(argv, out, err)` for `run`: errors become `<name>: <message>` on `err` and exit 2 (usage) or 1. */
export function cliMain(name: string, run: CliRun): (argv: string[], out?: Writer, err?: Writer) => Promise<number> {
  return async (argv, out = process.stdout, err = process.stderr) => {
    try {
      return await run(argv, out, err);
    } catch (e) {
      const usage = e instanceof UsageError;
      err.write(`${name}: ${(e as Error).message}\n${usage ? 'Run with --help for usage.\n' : ''}`);
      return usage ? 2 : 1;
    }
  };
}

/** Run `main` when `moduleUrl` is the script node was started with, and exit with its code. */
export function runIfScript(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  if (process.argv[1] && moduleUrl === pathToFileURL(process.argv[1]).href) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
  }
}
