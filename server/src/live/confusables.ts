import { createRequire } from 'node:module';

/**
 * Unicode's confusables.txt (UTS #39, version 13.0.0) as the `unhomoglyph` package ships it:
 * each character that can pass for another, mapped to its prototype ("а" Cyrillic → "a",
 * "ꓮ" → "A"). Read as JSON at run time, so the table stays the package's and is not copied here.
 */
const table = createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>;

/**
 * Prototypes by code point, less the ASCII characters: within ASCII every spelling is one a host
 * can see and list, and folding there merges ordinary words ("burn" would read as "bum", "pom" as
 * "porn"). What is folded is what comes from elsewhere dressed as ASCII.
 */
const prototypes = new Map<number, string>();
for (const [from, to] of Object.entries(table)) {
  const code = from.codePointAt(0);
  if (code !== undefined && code > 0x7f) prototypes.set(code, to);
}
// A missing or truncated table would let every look-alike through without a word.
if (prototypes.size < 6000) throw new Error('confusables table is incomplete');

/**
 * The skeleton of UTS #39 §4: NFD, each character replaced by its prototype, NFD again. Two
 * strings that look alike have the same skeleton; it is for comparing, not for showing.
 */
export function skeleton(text: string): string {
  const decomposed = text.normalize('NFD');
  let mapped = '';
  let changed = false;
  for (const char of decomposed) {
    const code = char.codePointAt(0) ?? 0;
    const prototype = code > 0x7f ? prototypes.get(code) : undefined;
    if (prototype === undefined) mapped += char;
    else {
      mapped += prototype;
      changed = true;
    }
  }
  return changed ? mapped.normalize('NFD') : decomposed;
}
