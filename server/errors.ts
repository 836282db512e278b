/**
 * The server's one error type and the mapping of any thrown value to an HTTP status and a wire error.
 */
import type { ErrorCode, WireError } from './protocol.js';
import type { ZodError } from 'zod';

/** An error meant for the client: a code, an HTTP status and a message a person can act on. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, status = 400) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = status;
  }
}

/** A zod error as one readable line: `field "box.width": Number must be greater than 0`. */
export function describeZodError(err: ZodError, what = 'payload'): string {
  const i = err.issues[0];
  const where = i.path.length ? `field "${i.path.join('.')}"` : what;
  return `invalid ${what}: ${where}: ${i.message}`;
}

/** Map anything thrown to a status and a wire error; unexpected errors become 500 `internal` without details. */
export function toWireError(err: unknown): { status: number; error: WireError; expected: boolean } {
  if (err instanceof AppError) return { status: err.status, error: { code: err.code, message: err.message }, expected: true };
  const name = (err as Error | undefined)?.name;
  const message = (err as Error | undefined)?.message ?? String(err);
  if (name === 'BoxError') return { status: 400, error: { code: 'bad_box', message }, expected: true };
  if (name === 'FrameError' || name === 'FrameFileError') return { status: 400, error: { code: 'bad_frame', message }, expected: true };
  return { status: 500, error: { code: 'internal', message: 'internal server error' }, expected: false };
}
