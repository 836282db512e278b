#!/usr/bin/env node
// Whether to build the add-on's GEMM on oneDNN (src/gemm.h): prints 1 when oneDNN's C header and library are present
// (Debian: `apt-get install libdnnl-dev`), else 0; binding.gyp reads it at configure time. ROT_TRACK_NATIVE_DNNL=0
// builds without it (the system BLAS only) even where it is installed.
'use strict';
const { existsSync } = require('node:fs');
const { execFileSync } = require('node:child_process');

function hasLibrary() {
  try {
    return /libdnnl\.so/.test(execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return ['/usr/lib/x86_64-linux-gnu/libdnnl.so', '/usr/lib/aarch64-linux-gnu/libdnnl.so', '/usr/local/lib/libdnnl.so'].some(existsSync);
  }
}

const off = process.env.ROT_TRACK_NATIVE_DNNL === '0';
const header = ['/usr/include/oneapi/dnnl/dnnl.h', '/usr/local/include/oneapi/dnnl/dnnl.h'].some(existsSync);
process.stdout.write(!off && process.platform === 'linux' && header && hasLibrary() ? '1' : '0');
