/**
 * Reader of the IDX files MNIST ships in (big-endian header: 0x00 0x00 type ndims, then ndims uint32 sizes, then the
 * data), plain or gzipped. Only unsigned-byte data (type 0x08) is supported, which is what MNIST uses.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** An IDX array: shape and the raw uint8 data (row-major). */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Error for a malformed IDX file, naming the file. */
export class IdxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdxError';
  }
}

/** Parse IDX bytes; `where` names the source in errors. Gzip is detected by its magic bytes. */
export function parseIdx(bytes: Uint8Array, where: string): IdxArray {
  let buf = bytes;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = new Uint8Array(gunzipSync(buf));
    } catch (e) {
      throw new IdxError(`${where}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    throw new IdxError(`${where}: not an IDX file (bad magic number)`);
  }
  if (buf[2] !== 0x08) {
    throw new IdxError(`${where}: IDX data type 0x${buf[2].toString(16)} is not supported (only unsigned bytes, 0x08)`);
  }
  const ndims = buf[3];
  if (ndims < 1 || buf.length < 4 + 4 * ndims) throw new IdxError(`${where}: truncated IDX header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i, false));
  const n = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndims;
  if (buf.length - start !== n) {
    throw new IdxError(
      `${where}: header says [${shape.join(', ')}] = ${n} bytes of data but the file holds ${buf.length - start}` +
        (buf.length - start < n ? ' (truncated)' : ''),
    );
  }
  return { shape, data: buf.subarray(start) };
}

/** Read an IDX file (plain or .gz) from disk. */
export function readIdx(file: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new IdxError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseIdx(bytes, file);
}
