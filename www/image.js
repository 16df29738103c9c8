// Image files → RGBA pixels, decoded in the page. Very large images are scaled down first
// (aspect kept, longer side ≤ MAX_SIDE); the Rust side then center-crops and area-averages.
export const MAX_SIDE = 1024;
/** Largest image file accepted (as the CLI: 64 MB) and largest decoded size. */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_PIXELS = 64 * 1000 * 1000;

export class ImageDecodeError extends Error {}

/** Decodes `file` (a Blob) to {rgba: Uint8Array, width, height, sourceWidth, sourceHeight}. */
export async function decodeImage(file, maxSide = MAX_SIDE) {
  let bitmap;
  try {
    // Raw pixel values, like the native decoder: no colour-space conversion, no premultiplying.
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    const what = file.name ? `“${file.name}”` : 'this file';
    const type = file.type ? ` (${file.type})` : '';
    throw new ImageDecodeError(
      `Could not read ${what}${type} as an image: the browser cannot decode it. ` +
      'Try a PNG, JPEG, WebP, GIF or BMP file.');
  }
  try {
    const sw = bitmap.width, sh = bitmap.height;
    if (!sw || !sh) throw new ImageDecodeError('The image has no pixels.');
    if (sw * sh > MAX_PIXELS) {
      throw new ImageDecodeError(`“${file.name || 'this image'}” is ${sw}×${sh} pixels, over the ${MAX_PIXELS / 1e6} megapixel limit.`);
    }
    const scale = Math.min(1, maxSide / Math.max(sw, sh));
    const width = Math.max(1, Math.round(sw * scale));
    const height = Math.max(1, Math.round(sh * scale));
    const canvas = typeof OffscreenCanvas === 'function'
      ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement('canvas'), { width, height });
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new ImageDecodeError('This browser cannot draw images into a canvas.');
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, width, height);
    const data = ctx.getImageData(0, 0, width, height).data;
    return {
      rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width, height, sourceWidth: sw, sourceHeight: sh,
    };
  } finally {
    bitmap.close();
  }
}
