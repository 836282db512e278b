/**
 * `npm start -- --help`: every setting of the server's config schema with its flag, environment variable, default
 * and description (the schema's `.describe()` text), so the list cannot drift from what loadConfig accepts.
 */
import { ENV, kebab, ServerConfig } from './config.js';

/** The help text, one block per setting. */
export function helpText(): string {
  const shape = ServerConfig._def.schema.shape as Record<string, { description?: string; _def: { defaultValue?: () => unknown } }>;
  const lines = [
    'rot-track server: npm start -- [--flag value | --flag=value]…',
    'Each setting is read from its flag, else its environment variable, else its default.',
    '',
  ];
  for (const [key, env] of Object.entries(ENV)) {
    const field = shape[key];
    const def = field._def.defaultValue?.();
    const shown = def === '' ? '(empty)' : JSON.stringify(def);
    lines.push(`  --${kebab(key)}  (env ${env}; default ${shown})`, `      ${field.description ?? ''}`);
  }
  lines.push('', '  --help, -h  print this text and exit');
  return lines.join('\n') + '\n';
}
