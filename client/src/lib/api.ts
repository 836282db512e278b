/**
 * HTTP helpers: every API answer is `{ok: true, data} | {ok: false, error: {code, message}}`; failures become
 * `ApiError` with the server's message (or a clear one when the server could not be reached).
 */
import type { Ack, WireError } from '../../../server/protocol.js';

/** An error answer from the server (or a network failure, code `network`). */
export class ApiError extends Error {
  readonly code: string;
  constructor(error: WireError | { code: string; message: string }) {
    super(error.message);
    this.name = 'ApiError';
    this.code = error.code;
  }
}

/** Unwrap an ack: its data, or throw ApiError. */
export function unwrap<T>(ack: Ack<T>): T {
  if (ack && ack.ok) return ack.data;
  throw new ApiError(ack && !ack.ok ? ack.error : { code: 'bad_answer', message: 'the server gave no answer' });
}

/** Fetch `url` and unwrap the JSON envelope. */
export async function api<T>(url: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new ApiError({ code: 'network', message: `cannot reach the server (${(e as Error).message})` });
  }
  let body: Ack<T>;
  try {
    body = (await res.json()) as Ack<T>;
  } catch {
    throw new ApiError({ code: 'bad_answer', message: `the server answered ${res.status} without JSON` });
  }
  return unwrap(body);
}

/** The element with id `id`, typed; throws when the page lacks it (a bug, not a user error). */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page has no #${id}`);
  return el as T;
}

/** Show `text` in a status element; `kind` selects the style (info, error, ok). */
export function status(el: HTMLElement, text: string, kind: 'info' | 'error' | 'ok' = 'info'): void {
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = text === '';
}
