/**
 * The value of the last `--<flag> <value>` or `--<flag>=<value>` in argv, unvalidated; undefined when absent. Throws
 * when `--<flag>` is the last argument or is followed by another flag, listing `choices`.
 */
export function lastFlagValue(argv: readonly string[], flag: string, choices: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === `--${flag}`) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new Error(`--${flag} needs a value: one of ${choices.join(', ')}`);
      found = v;
      i++;
    } else if (a.startsWith(`--${flag}=`)) {
      found = a.slice(flag.length + 3);
    }
  }
  return found;
}
