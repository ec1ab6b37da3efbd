/**
 * A small PNG decoder for tests (8-bit RGB/RGBA/grey, not interlaced: what
 * resvg and Chromium write), so tests can check that pixels, not just bytes,
 * came out: e.g. that the region of a label is not blank.
 */
import { inflateSync } from "node:zlib";

/** Decoded pixels, RGBA, row-major. */
export interface Image {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** 4 bytes per pixel. */
  rgba: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** Decode a PNG file's bytes. */
export function decodePng(bytes: Uint8Array): Image {
  SIGNATURE.forEach((b, i) => {
    if (bytes[i] !== b) throw new Error("not a PNG file");
  });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8, width = 0, height = 0, depth = 0, colorType = 0, interlace = 0;
  const idat: Uint8Array[] = [];
  while (pos < bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      const d = new DataView(data.buffer, data.byteOffset, data.byteLength);
      width = d.getUint32(0);
      height = d.getUint32(4);
      depth = data[8];
      colorType = data[9];
      interlace = data[12];
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    pos += 12 + len;
  }
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  if (depth !== 8 || channels === undefined || interlace !== 0) {
    throw new Error(
      `unsupported PNG: depth ${depth}, colour type ${colorType}, interlace ${interlace}`,
    );
  }
  const total = idat.reduce((s, c) => s + c.length, 0);
  const joined = new Uint8Array(total);
  let o = 0;
  for (const c of idat) (joined.set(c, o), o += c.length);
  const raw = new Uint8Array(inflateSync(joined));
  const stride = width * channels;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = px.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? px.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let v = line[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[i] = v & 255;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = px.subarray(i * channels, (i + 1) * channels);
    if (channels >= 3) (rgba[i * 4] = s[0], rgba[i * 4 + 1] = s[1], rgba[i * 4 + 2] = s[2]);
    else rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = s[0];
    rgba[i * 4 + 3] = channels === 4 ? s[3] : channels === 2 ? s[1] : 255;
  }
  return { width, height, rgba };
}

/** Number of pixels in a rectangle darker than `threshold` (0–255 mean of R, G, B, on white). */
export function darkPixels(
  img: Image,
  x0 = 0,
  y0 = 0,
  x1 = img.width,
  y1 = img.height,
  threshold = 160,
): number {
  let n = 0;
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++) {
    for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) {
      const i = (y * img.width + x) * 4;
      const alpha = img.rgba[i + 3] / 255;
      // Composite on white: a transparent pixel counts as white.
      const lum = (img.rgba[i] + img.rgba[i + 1] + img.rgba[i + 2]) / 3 * alpha + 255 * (1 - alpha);
      if (lum < threshold) n++;
    }
  }
  return n;
}

/** Number of pixels that are not (nearly) white. */
export function nonWhitePixels(img: Image): number {
  return darkPixels(img, 0, 0, img.width, img.height, 245);
}
