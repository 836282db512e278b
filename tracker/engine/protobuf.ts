/**
 * A minimal protobuf *encoder* for the ONNX messages the exporter writes (tracker/engine/onnx-model.ts): varints,
 * length-delimited fields, packed repeated int64/float. Browser-safe, no dependencies. Decoding is not needed (ONNX
 * Runtime reads the bytes); every message is built bottom-up as bytes and embedded as a length-delimited field.
 */

const enc = new TextEncoder();

/** Growable byte buffer with protobuf field writers. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** Unsigned varint of a non-negative integer (exact up to 2^53) or a negative int64 (two's complement, 10 bytes). */
  varint(v: number): void {
    if (!Number.isInteger(v)) throw new Error(`protobuf: varint needs an integer, got ${v}`);
    if (v < 0) {
      // int64 two's complement via BigInt: always 10 bytes
      let b = BigInt.asUintN(64, BigInt(v));
      for (let i = 0; i < 10; i++) {
        const low = Number(b & 0x7fn);
        b >>= 7n;
        this.byte(b === 0n ? low : low | 0x80);
        if (b === 0n) return;
      }
      return;
    }
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** Raw bytes (no tag). */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** Varint field (int32/int64/enum). */
  int(field: number, v: number): this {
    this.tag(field, 0);
    this.varint(v);
    return this;
  }

  /** 32-bit float field (fixed32). */
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.raw(b);
    return this;
  }

  /** Length-delimited bytes field (bytes, embedded message, packed repeated). */
  bytes(field: number, bytes: Uint8Array): this {
    this.tag(field, 2);
    this.varint(bytes.length);
    this.raw(bytes);
    return this;
  }

  /** UTF-8 string field. */
  string(field: number, s: string): this {
    return this.bytes(field, enc.encode(s));
  }

  /** Embedded message field. */
  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  /** Packed repeated varint field (e.g. int64 dims / ints). */
  packedInts(field: number, vs: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of vs) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated float field. */
  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  /** The encoded bytes (a view of the internal buffer; valid until the next write). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
