/**
 * Structured logs: one JSON object per line on stderr (or a test's sink), with time, level and event name.
 */

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** A logger: `log.info('upload.accepted', {id, bytes})` writes one line. */
export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** A JSON-lines logger writing events at or above `level` to `sink` (default: stderr). */
export function createLogger(
  level: LogLevel | 'silent' = 'info',
  sink: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const min = ORDER[level];
  const emit = (lv: LogLevel, event: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[lv] < min) return;
    let line: string;
    try {
      line = JSON.stringify({ time: new Date().toISOString(), level: lv, event, ...fields });
    } catch {
      line = JSON.stringify({ time: new Date().toISOString(), level: lv, event, note: 'fields not serialisable' });
    }
    sink(line);
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
  };
}
