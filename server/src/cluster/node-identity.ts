import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Reads a value kept in the data folder, creating it (and the folder) on first start. With
 * `memory://` nothing is kept and a fresh value is made each time.
 */
export async function persistentValue(
  dataDir: string,
  name: string,
  make: () => string,
): Promise<string> {
  if (dataDir.startsWith('memory://')) return make();
  const file = path.join(dataDir, name);
  try {
    const value = (await readFile(file, 'utf8')).trim();
    if (value) return value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = make();
  // With DATABASE_URL nothing else creates the folder (the embedded engine would have). It holds
  // the generated signing key: its owner alone may look inside.
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  return value;
}

export const randomSecret = (): string => randomBytes(32).toString('base64url');
export const randomNodeId = (): string => `node-${randomBytes(6).toString('hex')}`;
