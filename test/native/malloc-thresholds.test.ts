// The glibc malloc thresholds a process running the add-on gets (tracker/node/malloc-thresholds.ts): when they are set,
// when the user's own choice keeps glibc's, a bad ROT_TRACK_MALLOC named, and what registration reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES, applyMallocPolicy, mallocPolicy } from '../../tracker/node/malloc-thresholds.js';
import { loadNativeAddon } from '../../tracker/node/native-backend.js';
import { nativeOrSkip } from './util.js';

test('the thresholds are set unless the user chose otherwise', () => {
  assert.deepEqual(mallocPolicy({}), { apply: true });
  assert.deepEqual(mallocPolicy({ ROT_TRACK_MALLOC: 'fixed' }), { apply: true });
  assert.deepEqual(mallocPolicy({ ROT_TRACK_MALLOC: 'default' }), { apply: false, reason: 'ROT_TRACK_MALLOC=default' });
  assert.deepEqual(mallocPolicy({ MALLOC_TRIM_THRESHOLD_: '1000', GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }),
    { apply: false, reason: 'MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES set in the environment' });
  assert.throws(() => mallocPolicy({ ROT_TRACK_MALLOC: 'keep' }), /ROT_TRACK_MALLOC: "fixed" or "default", got "keep"/);
});

test('applyMallocPolicy calls the setter with 32 and 64 MB, and says what holds', () => {
  const calls: number[][] = [];
  const setter = (m: number, t: number) => (calls.push([m, t]), true);
  assert.equal(applyMallocPolicy(setter, {}), 'fixed thresholds (mmap 32 MB, trim 64 MB)');
  assert.deepEqual(calls, [[MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES]]);
  assert.equal(applyMallocPolicy(setter, { ROT_TRACK_MALLOC: 'default' }), 'glibc defaults (ROT_TRACK_MALLOC=default)');
  assert.equal(calls.length, 1, 'not called when the user keeps the defaults');
  assert.equal(applyMallocPolicy(() => false, {}), 'allocator defaults (not glibc)');
  assert.equal(applyMallocPolicy(undefined, {}), 'glibc defaults (the add-on predates mallocThresholds)');
});

const reg = nativeOrSkip();

test('the add-on sets glibc\'s thresholds and registration reports it', { skip: !reg.ok }, () => {
  assert.ok(reg.ok);
  const expected = mallocPolicy().apply ? /fixed thresholds \(mmap 32 MB, trim 64 MB\)/ : /glibc defaults/;
  assert.match(reg.malloc, expected);
  const a = loadNativeAddon()!;
  // glibc takes them; another C library (musl, macOS) reports false and changes nothing
  assert.equal(a.mallocThresholds!(MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES), !/not glibc/.test(reg.malloc));
  assert.throws(() => a.mallocThresholds!(-1, 0), /thresholds must be between 0 and 2\^31 − 1 bytes/);
});
