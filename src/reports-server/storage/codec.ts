// How the store keeps object JSON: each object's text compressed once, when it is written, as a raw DEFLATE
// stream that ends on a sync flush (byte-aligned, no final block), behind an 8-byte header with the text's
// length and CRC-32. Such streams concatenate: a list answers gzip-encoded requests by joining the stored
// bytes between a gzip header and trailer (the CRC-32s combined, nothing compressed on the hot path), and
// plain JSON by inflating each one — never parsing and re-serialising an object. ADR 0017.
import { constants, crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

const HEADER = 8;
const syncFlush = { finishFlush: constants.Z_SYNC_FLUSH };

/** An object's JSON as stored: `[length u32 LE][crc32 u32 LE][raw deflate, sync-flushed]`. */
export type Stored = Uint8Array;

/** Compresses one object's JSON text for storage. */
export function encodeStored(json: string): Buffer {
  const text = Buffer.from(json, 'utf8');
  const deflated = deflateRawSync(text, { ...syncFlush, level: 6 });
  const out = Buffer.allocUnsafe(HEADER + deflated.length);
  out.writeUInt32LE(text.length >>> 0, 0);
  out.writeUInt32LE(crc32(text), 4);
  deflated.copy(out, HEADER);
  return out;
}

const asBuffer = (stored: Stored): Buffer =>
  Buffer.isBuffer(stored) ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);

/** The JSON bytes of a stored object. */
export function decodeStoredBytes(stored: Stored): Buffer {
  return inflateRawSync(asBuffer(stored).subarray(HEADER), syncFlush);
}

/**
 * The JSON bytes of several stored objects, inflated together: the concatenated DEFLATE data of up to
 * `batchBytes` of text goes through one zlib call and is cut at the objects' lengths. Each zlib call holds
 * about 40 KiB of native memory that V8 counts as external; one per object of a 500-object page made V8 run
 * a full garbage collection every few pages.
 */
export function decodeStoredMany(stored: readonly Stored[], batchBytes = 8 << 20): Buffer[] {
  const out: Buffer[] = [];
  for (let start = 0; start < stored.length;) {
    let end = start;
    let bytes = 0;
    while (end < stored.length && (end === start || bytes + storedLength(stored[end]!) <= batchBytes)) {
      bytes += storedLength(stored[end++]!);
    }
    const group = stored.slice(start, end);
    const text = inflateRawSync(Buffer.concat(group.map(storedDeflate)), syncFlush);
    if (text.length !== bytes) throw new Error(`stored objects inflate to ${text.length} bytes, not ${bytes}`);
    let offset = 0;
    for (const one of group) {
      const length = storedLength(one);
      out.push(text.subarray(offset, offset + length));
      offset += length;
    }
    start = end;
  }
  return out;
}

/** The parsed objects of several stored values (decodeStoredMany). */
export const parseStoredMany = <T>(stored: readonly Stored[]): T[] =>
  decodeStoredMany(stored).map((bytes) => JSON.parse(bytes.toString('utf8')) as T);

/** The JSON text of a stored object. */
export const decodeStored = (stored: Stored): string => decodeStoredBytes(stored).toString('utf8');

/** The parsed object of a stored value. */
export const parseStored = <T>(stored: Stored): T => JSON.parse(decodeStored(stored)) as T;

/** Length of the JSON text (bytes) of a stored object. */
export const storedLength = (stored: Stored): number => asBuffer(stored).readUInt32LE(0);

/** CRC-32 of the JSON text of a stored object. */
export const storedCrc = (stored: Stored): number => asBuffer(stored).readUInt32LE(4);

/** The sync-flushed DEFLATE data of a stored object (no header). */
export const storedDeflate = (stored: Stored): Buffer => asBuffer(stored).subarray(HEADER);

// --- CRC-32 combination (zlib's crc32_combine) ------------------------------------------------------------------

const POLY = 0xedb88320;

/** a(x) * b(x) modulo p(x), bit-reflected as in CRC-32. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo p(x), k = 0..31. */
const x2nTable: number[] = (() => {
  const table = [0x40000000];
  for (let k = 1; k < 32; k++) table.push(multModP(table[k - 1]!, table[k - 1]!));
  return table;
})();

/** x^(n * 2^k) modulo p(x). */
function x2nModP(n: number, k: number): number {
  let p = 0x80000000;
  while (n) {
    if (n & 1) p = multModP(x2nTable[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** CRC-32 of A followed by B, from CRC-32(A), CRC-32(B) and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(x2nModP(lengthB, 3), crcA) ^ crcB) >>> 0;
}

// --- gzip from stored pieces -------------------------------------------------------------------------------------

const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/**
 * Builds one gzip member out of literal text and stored objects, chunk by chunk: `text()` compresses a small
 * piece of text now (the list's head, separators, its tail), `stored()` appends an object's stored bytes as
 * they are. `end()` returns the final block and the trailer (CRC-32 and length of everything).
 */
export class GzipAssembler {
  private crc = 0;
  private length = 0;
  private started = false;
  private readonly cache = new Map<string, { deflate: Buffer; crc: number; length: number }>();

  private header(): Buffer[] {
    if (this.started) return [];
    this.started = true;
    return [GZIP_HEADER];
  }

  /** Compressed literal text (small pieces that repeat, such as `,`, are compressed once). */
  text(piece: string): Buffer[] {
    let c = this.cache.get(piece);
    if (!c) {
      const bytes = Buffer.from(piece, 'utf8');
      c = { deflate: deflateRawSync(bytes, { ...syncFlush, level: 1 }), crc: crc32(bytes), length: bytes.length };
      if (piece.length <= 16) this.cache.set(piece, c);
    }
    this.add(c.crc, c.length);
    return [...this.header(), c.deflate];
  }

  /** A stored object as it is. */
  stored(stored: Stored): Buffer[] {
    this.add(storedCrc(stored), storedLength(stored));
    return [...this.header(), storedDeflate(stored)];
  }

  private add(crc: number, length: number): void {
    if (length === 0) return;
    this.crc = this.length === 0 ? crc : crc32Combine(this.crc, crc, length);
    this.length += length;
  }

  /** The final (empty) block and the gzip trailer. */
  end(): Buffer {
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.length % 0x100000000, 4);
    // A final fixed-Huffman block holding only end-of-block: bits 1 (BFINAL), 01 (fixed), 0000000 (EOB).
    return Buffer.concat([...this.header(), Buffer.from([0x03, 0x00]), trailer]);
  }
}
