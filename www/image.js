// Image files → RGBA pixels of the centre square the network sees, decoded in the page.
// Before the browser decodes anything, the project's own header checks run in wasm (the same
// code as the CLI's), so a bad file gets the CLI's message. The centre square is then cut at full
// resolution, exactly where the CLI cuts it, and handed on unscaled (the Rust side area-averages
// it to 32×32, as natively), so the page and `lcnet classify` see the same pixels. Only a square
// over MAX_CROP_SIDE is shrunk first, by the canvas (then page and CLI may differ slightly).
/** Largest centre square passed on unscaled: 4096² RGBA is 64 MiB. */
export const MAX_CROP_SIDE = 4096;
/** Bytes of a file's start given to the header check: enough for the frame header after a large EXIF block. */
const HEAD_BYTES = 1 << 20;

export class ImageDecodeError extends Error {}

/**
 * Decodes `file` (a Blob) to {rgba: Uint8Array, width, height, sourceWidth, sourceHeight, exact}: the centre
 * square's pixels (width = height), `exact` when it is at full resolution. `checker`: the inference client,
 * whose `inspect(head, size)` and `checkSize(w, h)` run the CLI's checks in wasm.
 */
export async function decodeImage(file, checker) {
  const what = file.name ? `“${file.name}”` : 'The pasted image';
  let header;
  try {
    header = await checker.inspect(await file.slice(0, HEAD_BYTES).arrayBuffer(), file.size);
  } catch (e) {
    throw new ImageDecodeError(`${what}: ${e.message}`);
  }
  let bitmap;
  try {
    // Raw pixel values, like the native decoder: no colour-space conversion, no premultiplying.
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new ImageDecodeError(`${what}: invalid image: the browser could not decode this ${header.format.toUpperCase()} file: it is corrupt or truncated.`);
  }
  try {
    const sw = bitmap.width, sh = bitmap.height;
    try {
      await checker.checkSize(sw, sh);
    } catch (e) {
      throw new ImageDecodeError(`${what}: ${e.message}`);
    }
    // The CLI's crop (src/preprocess.rs): the centred square, offsets rounded down.
    const side = Math.min(sw, sh);
    const x0 = Math.floor((sw - side) / 2), y0 = Math.floor((sh - side) / 2);
    const out = Math.min(side, MAX_CROP_SIDE);
    const canvas = typeof OffscreenCanvas === 'function'
      ? new OffscreenCanvas(out, out)
      : Object.assign(document.createElement('canvas'), { width: out, height: out });
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new ImageDecodeError('This browser cannot draw images into a canvas.');
    // 1:1 copies pixels as they are; only an oversized square is resampled.
    ctx.imageSmoothingEnabled = out !== side;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, x0, y0, side, side, 0, 0, out, out);
    const data = ctx.getImageData(0, 0, out, out).data;
    return {
      rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: out, height: out, sourceWidth: sw, sourceHeight: sh, exact: out === side,
    };
  } finally {
    bitmap.close();
  }
}
