import { AVATAR_MAX_BYTES, AVATAR_MAX_SIZE, AVATAR_TYPES } from '@onair/protocol';

const qualities = [0.9, 0.8, 0.65, 0.5];
const longest = Math.min(AVATAR_MAX_SIZE.width, AVATAR_MAX_SIZE.height);

const isAcceptedType = (type: string) => (AVATAR_TYPES as readonly string[]).includes(type);

const encode = (canvas: HTMLCanvasElement, quality: number) =>
  new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));

/**
 * A picture the server accepts, made from the file a user chose: the file itself when it already
 * is a JPEG, WebP or PNG within 1 MB and 1024 px; otherwise the image scaled to fit 1024 px and
 * encoded as JPEG, at lower quality until it fits in 1 MB (a phone's 12-megapixel photo, say).
 * Null when the browser cannot read the file as an image.
 */
export async function avatarUpload(file: Blob): Promise<Blob | null> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return null;
  }
  try {
    const { width, height } = bitmap;
    if (
      isAcceptedType(file.type) &&
      file.size <= AVATAR_MAX_BYTES &&
      Math.max(width, height) <= longest
    )
      return file;
    const scale = Math.min(1, longest / Math.max(width, height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const context = canvas.getContext('2d');
    if (!context) return null;
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    for (const quality of qualities) {
      const blob = await encode(canvas, quality);
      if (blob && blob.size <= AVATAR_MAX_BYTES) return blob;
    }
    return null;
  } finally {
    bitmap.close();
  }
}
