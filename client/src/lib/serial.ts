/** Request pacing for pages that refresh while the user drags: one request at a time, the latest state wins. */

/**
 * Wrap `run` so runs never overlap: a call while one is running is remembered and made (once) when it ends, so the
 * last call always gets a run with the state of that moment.
 */
export function serialized(run: () => Promise<void>): () => void {
  let busy = false;
  let again = false;
  const go = (): void => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    run().finally(() => {
      busy = false;
      if (again) {
        again = false;
        go();
      }
    });
  };
  return go;
}

/** `fn` called `ms` after the last of a burst of calls (a call may pass its own delay). */
export function debounced(fn: () => void, ms: number): (delay?: number) => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (delay = ms) => {
    clearTimeout(timer);
    timer = setTimeout(fn, delay);
  };
}
