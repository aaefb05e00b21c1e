import { skeleton } from './confusables';

/**
 * Text as a person reads it, for matching only (what is stored and shown stays as written). Each
 * way of hiding a word from a plain comparison is undone: compatibility forms (fullwidth,
 * mathematical bold) by NFKC, characters that draw nothing (zero-width, soft hyphen, bidi and
 * tag characters) by removing them, look-alikes from other scripts by the UTS #39 skeleton,
 * marks stacked on letters by stripping them, and case by folding.
 */

/** Printable ASCII: none of the above applies but case, and it is most of chat. */
const plainAscii = /^[\x20-\x7e]*$/;
/** Hangul fillers draw a blank in the fonts that draw them at all: they read as a space. */
const fillers = /[\u115f\u1160\u3164\uffa0]/gu;
/**
 * Everything else that draws nothing. Removed rather than read as a space: an invisible
 * character between two letters shows them as one word ("f\u200Bu\u200Bc\u200Bk" reads "fuck"),
 * and one between words sits beside the space or punctuation that a reader does see, which
 * stays. Emoji sequences lose their joiners, but emoji are not letters: no word grows or splits.
 */
const invisible = /\p{Default_Ignorable_Code_Point}/gu;
const marks = /\p{M}+/gu;
/** Combining marks that belong to no script: the diacritics that can be stacked on anything. */
const genericMark = /\p{Script_Extensions=Inherited}/gu;
/**
 * Scripts whose words are spelled without marks, so a mark on their letters is decoration
 * ("fúçk", "f̶u̶c̶k̶"); Hebrew and Arabic vowel points are optional and read through too. In
 * other scripts (Devanagari, Thai, ...) a mark is a vowel that spells the word: it is kept.
 */
const markFreeBase =
  /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Armenian}\p{Script=Georgian}\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Common}\p{Script=Inherited}]$/u;

/** The character before UTF-16 index `at`, whole when it is a surrogate pair. */
const charBefore = (text: string, at: number): string => {
  const unit = text.charCodeAt(at - 1);
  return unit >= 0xdc00 && unit <= 0xdfff && at >= 2
    ? text.slice(at - 2, at)
    : text.slice(at - 1, at);
};

const stripDecoration = (text: string): string =>
  text.replace(marks, (run: string, at: number) =>
    at > 0 && !markFreeBase.test(charBefore(text, at)) ? run.replace(genericMark, '') : '',
  );

/** Full case folding where JavaScript has only lower-casing: "ß" and "SS" both read "ss". */
const foldCase = (text: string): string => text.toUpperCase().toLowerCase();

const visible = (text: string): string =>
  text.normalize('NFKC').replace(fillers, ' ').replace(invisible, '');

const readThrough = (text: string): string => stripDecoration(skeleton(text)).toLowerCase();

/** How a blocked word reads: the form every comment is compared in. */
export function readingForm(word: string): string {
  if (plainAscii.test(word)) return word.toLowerCase();
  return readThrough(foldCase(visible(word)));
}

/**
 * How a comment reads: its reading form and, when it has capitals, also the skeleton of the
 * capitals as written. Some look-alikes hold in one case only: Cyrillic "В" passes for "B",
 * while its small "в" is a small capital, not a "b".
 */
export function readingForms(text: string): string[] {
  if (plainAscii.test(text)) return [text.toLowerCase()];
  const shown = visible(text);
  const folded = readThrough(foldCase(shown));
  if (shown === shown.toLowerCase()) return [folded];
  const asWritten = readThrough(shown);
  return asWritten === folded ? [folded] : [folded, asWritten];
}
