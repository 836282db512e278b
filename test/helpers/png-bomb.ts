/**
 * A decompression bomb for the limit tests: a valid grey PNG of `side × side` black pixels that is a few hundred KB
 * on the wire (deflate squeezes the zero rows ~1000:1) but decodes to `side²` bytes (16000² = 256 MB grey, 768 MB
 * as RGB). Written row by row through one deflate stream, so making it never holds the decoded image.
 */
import { constants, crc32, createDeflate } from 'node:zlib';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** The PNG bytes of a black `side × side` 8-bit grey image. */
export async function pngBomb(side = 16000): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  // Each row is a filter byte (0) and `side` zero pixels; 64 rows go in per write.
  const rows = Buffer.alloc((side + 1) * 64);
  const z = createDeflate({ level: constants.Z_BEST_COMPRESSION, memLevel: 9 });
  const out: Buffer[] = [];
  z.on('data', (d: Buffer) => out.push(d));
  const done = new Promise<void>((resolve, reject) => {
    z.on('end', resolve);
    z.on('error', reject);
  });
  for (let y = 0; y < side; y += 64) {
    const n = Math.min(64, side - y);
    if (!z.write(n === 64 ? rows : rows.subarray(0, (side + 1) * n))) await new Promise((r) => z.once('drain', r));
  }
  z.end();
  await done;
  const idat = Buffer.concat(out);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}
