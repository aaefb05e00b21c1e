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
  // Copies the runs between look-alikes whole: in chat's hot path most characters map to
  // themselves, and ASCII (most of chat) needs no look-up at all.
  let mapped = '';
  let runStart = 0;
  for (let i = 0; i < decomposed.length; i++) {
    if (decomposed.charCodeAt(i) <= 0x7f) continue;
    const code = decomposed.codePointAt(i) ?? 0;
    const prototype = prototypes.get(code);
    const end = code > 0xffff ? i + 2 : i + 1;
    if (prototype !== undefined) {
      mapped += decomposed.slice(runStart, i) + prototype;
      runStart = end;
    }
    i = end - 1;
  }
  return runStart === 0 ? decomposed : (mapped + decomposed.slice(runStart)).normalize('NFD');
}
