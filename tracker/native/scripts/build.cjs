#!/usr/bin/env node
// Install step of the optional native add-on: tries `node-gyp rebuild` (the node-gyp bundled with npm) and never fails
// the install. When the build fails (no C++ toolchain, no OpenBLAS headers/library), it says so and exits 0: rot-track
// then runs on wasm, and `registerNativeBackend()` reports why native-cpu is missing.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');

function nodeGypCommand() {
  // npm sets npm_config_node_gyp to its bundled node-gyp.js while running install scripts.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, [fromNpm]];
  const candidates = [
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.unshift(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package: fall through to npm's copy.
  }
  for (const c of candidates) if (existsSync(c)) return [process.execPath, [c]];
  return ['node-gyp', []];
}

if (process.env.ROT_TRACK_NATIVE_SKIP === '1') {
  console.log('rot-track-native: ROT_TRACK_NATIVE_SKIP=1, not building (native-cpu backend unavailable; wasm is used).');
  process.exit(0);
}
const [cmd, pre] = nodeGypCommand();
// Use the running Node's own headers when they are installed (Debian's nodejs, official tarballs): node-gyp would
// otherwise download them, which fails offline.
const args = [...pre, 'rebuild'];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const r = spawnSync(cmd, args, { cwd: here, stdio: 'inherit' });
const built = path.join(here, 'build', 'Release', 'rot_track_native.node');
if (r.status === 0 && existsSync(built)) {
  console.log(`rot-track-native: built ${built} (native-cpu backend available).`);
} else {
  console.warn(
    'rot-track-native: WARNING: the native add-on could not be built ' +
      `(${r.error ? r.error.message : `node-gyp exited with ${r.status}`}). ` +
      'This is optional: rot-track falls back to the wasm backend. To enable native-cpu install a C++ toolchain, ' +
      'python3 and OpenBLAS (Debian/Ubuntu: apt-get install -y build-essential python3 libopenblas-dev), then run ' +
      '`node tracker/native/scripts/build.cjs` (or `npm install` again).',
  );
}
process.exit(0);
