/**
 * PNG encoding of RGB8 images (8-bit truecolour, no interlace) with node:zlib, plus a small
 * decoder for the same family (RGB/RGBA 8-bit, all five row filters) that verifies every CRC —
 * used by tests and by anything that reads generated images back from the blob store.
 */
import { deflateSync, inflateSync } from "node:zlib";

/** An RGB8 image: data is [height, width, 3] row-major. */
export type RgbImage = { width: number; height: number; data: Uint8Array };

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, as PNG chunks use) of bytes; `crc` continues a running value. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = (CRC_TABLE[(c ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  dv.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** RgbImage → PNG bytes. Rows use filter 1 (Sub), which compresses the smooth images a diffusion model makes well. */
export function encodePng(image: RgbImage): Uint8Array {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`bad PNG size ${width}×${height}`);
  if (data.length !== width * height * 3)
    throw new RangeError(`RGB data has ${data.length} bytes, expected ${width * height * 3}`);
  const stride = width * 3;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    raw[o] = 1;
    for (let i = 0; i < stride; i++) {
      const cur = data[y * stride + i] ?? 0;
      const left = i >= 3 ? (data[y * stride + i - 3] ?? 0) : 0;
      raw[o + 1 + i] = (cur - left) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace
  const parts = [
    SIGNATURE,
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** PNG bytes (8-bit RGB or RGBA, non-interlaced) → RgbImage (alpha dropped). Throws on a bad signature, CRC or layout. */
export function decodePng(png: Uint8Array): RgbImage {
  for (let i = 0; i < SIGNATURE.length; i++)
    if (png[i] !== SIGNATURE[i]) throw new Error("not a PNG: bad signature");
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  while (off < png.length && !sawEnd) {
    if (off + 12 > png.length) throw new Error("PNG truncated inside a chunk header");
    const len = dv.getUint32(off);
    const type = String.fromCharCode(...png.subarray(off + 4, off + 8));
    if (off + 12 + len > png.length) throw new Error(`PNG chunk ${type} overruns the file`);
    const body = png.subarray(off + 8, off + 8 + len);
    if (crc32(png.subarray(off + 4, off + 8 + len)) !== dv.getUint32(off + 8 + len))
      throw new Error(`PNG chunk ${type}: CRC mismatch`);
    if (type === "IHDR") {
      const h = new DataView(body.buffer, body.byteOffset, body.byteLength);
      width = h.getUint32(0);
      height = h.getUint32(4);
      const [depth, colour, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0)
        throw new Error(`unsupported PNG: depth ${depth}, colour type ${colour}, interlace ${interlace}`);
      channels = colour === 2 ? 3 : 4;
    } else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") sawEnd = true;
    off += 12 + len;
  }
  if (!channels) throw new Error("PNG has no IHDR");
  if (!sawEnd) throw new Error("PNG has no IEND");
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1))
    throw new Error(`PNG image data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const pix = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i] ?? 0;
      const a = i >= channels ? (pix[y * stride + i - channels] ?? 0) : 0;
      const b = y > 0 ? (pix[(y - 1) * stride + i] ?? 0) : 0;
      const c = y > 0 && i >= channels ? (pix[(y - 1) * stride + i - channels] ?? 0) : 0;
      let v: number;
      if (filter === 0) v = x;
      else if (filter === 1) v = x + a;
      else if (filter === 2) v = x + b;
      else if (filter === 3) v = x + ((a + b) >> 1);
      else if (filter === 4) v = x + paeth(a, b, c);
      else throw new Error(`PNG row ${y}: unknown filter ${filter}`);
      pix[y * stride + i] = v & 0xff;
    }
  }
  if (channels === 3) return { width, height, data: pix };
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) for (let k = 0; k < 3; k++) rgb[p * 3 + k] = pix[p * 4 + k] ?? 0;
  return { width, height, data: rgb };
}
