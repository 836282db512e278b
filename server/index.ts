/**
 * `npm start`: read the configuration (flags over environment over defaults), initialise the tfjs backend, build the
 * app, bundle the client, listen, and shut down gracefully on SIGINT/SIGTERM (cancel jobs, close sockets, exit 0).
 */
import { initBackend, type BackendRequest } from '../tracker/node/backend.js';
import { createApp } from './app.js';
import { loadConfig, settingsOrExit } from './config.js';
import { helpText } from './config-help.js';
import { createLogger } from './log.js';
import { removeOwnOrtDebugLogAtExit, sweepOrtDebugLogs } from './ort-debug-log.js';

async function main(): Promise<void> {
  const config = settingsOrExit('rot-track server', () => loadConfig(), helpText);
  const log = createLogger(config.logLevel);
  sweepOrtDebugLogs();
  removeOwnOrtDebugLogAtExit();
  // initBackend also honours --backend and ROT_TRACK_BACKEND; our config passes the same choice explicitly.
  const backend = await initBackend({
    backend: config.backend as BackendRequest,
    argv: [],
    log: (msg) => log.info('backend', { message: msg }),
  });
  const handle = await createApp({ config, log });
  await handle.bundles.buildAll();
  const models = handle.models.list();
  await new Promise<void>((resolve, reject) => {
    handle.server.once('error', reject);
    handle.server.listen(config.port, config.host, () => resolve());
  });
  const addr = handle.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  log.info('server.listening', {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/`,
    backend,
    models: models.models.map((m) => m.name),
    defaultModel: models.default,
    uploadDir: config.uploadDir,
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('server.stopping', { signal });
    const force = setTimeout(() => {
      log.error('server.stop_timeout', {});
      process.exit(1);
    }, 10_000);
    force.unref();
    handle.close().then(
      () => process.exit(0),
      (e) => {
        log.error('server.stop_error', { error: String(e) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

process.on('unhandledRejection', (e) => {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', event: 'unhandled_rejection', error: String((e as Error)?.stack ?? e) }) + '\n');
});

main().catch((e) => {
  process.stderr.write(`rot-track server failed to start: ${(e as Error)?.message ?? e}\n`);
  process.exit(1);
});
