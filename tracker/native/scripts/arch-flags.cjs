#!/usr/bin/env node
// Compiler flags for the machine the add-on is built on (binding.gyp runs this at configure time): -march=native lets
// GCC use the CPU's vector units (AVX2 / AVX-512) in the element-wise, BatchNorm and pooling loops that OpenBLAS does
// not cover — measured on a CPU-scale training step at 1 thread: outside-BLAS kernel time 30–33 → 23–26 ms.
// The add-on is built at `npm install` on the machine that runs it; for a build meant to be copied to other machines
// (a container image built elsewhere), ROT_TRACK_NATIVE_PORTABLE=1 drops the flag (baseline x86-64 / arm64 code).
// No -ffast-math; but GCC contracts a·b + c into fused multiply-adds under this flag even in ISO C++ mode, so results
// can differ in the last bit from a build without it. src/frame.cc, which must match the tracker's JavaScript bit for
// bit, turns contraction off for itself.
'use strict';
const portable = process.env.ROT_TRACK_NATIVE_PORTABLE === '1';
const flags = [];
if (!portable && (process.arch === 'x64' || process.arch === 'arm64')) flags.push(process.arch === 'x64' ? '-march=native' : '-mcpu=native');
process.stdout.write(flags.join(' '));
