import { readingForm, readingForms } from './reading-form';

/**
 * Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese):
 * a word there has no visible edge, so it is found wherever it stands.
 */
const unspaced = String.raw`\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}`;
/** Letters, marks and digits of a script that spaces its words, and `_`: what a whole word may not touch. */
const wordChar = String.raw`(?:(?![${unspaced}])[\p{L}\p{M}\p{N}_])`;

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A blocked word or phrase as a pattern: how it reads, any run of spaces between words. */
const patternOf = (word: string): string =>
  readingForm(word)
    .trim()
    .split(/\s+/u)
    .filter(Boolean)
    .map(escape)
    .join(String.raw`\s+`);

/**
 * Matches a host's blocked words in chat as a person reads both (`reading-form.ts`): whole words
 * only and regardless of case, in any script ("ass" finds "Ass!", "аss" in Cyrillic and
 * "a\u200Bss", but not "class"; "straße" is not found in "straßenbahn", nor "cunt" in
 * "Scunthorpe"). In scripts written without spaces a word is found wherever it stands.
 */
export class BlockedWords {
  private readonly pattern: RegExp | null;

  constructor(words: readonly string[]) {
    const patterns = words.map(patternOf).filter((p) => p.length > 0);
    // Longest first, so a phrase wins over a word it starts with (it changes nothing else).
    patterns.sort((a, b) => b.length - a.length);
    this.pattern =
      patterns.length === 0
        ? null
        : new RegExp(`(?<!${wordChar})(?:${patterns.join('|')})(?!${wordChar})`, 'u');
  }

  /** True when `text`, as it reads, contains one of the words. */
  matches(text: string): boolean {
    const pattern = this.pattern;
    return pattern !== null && readingForms(text).some((form) => pattern.test(form));
  }
}

/**
 * Matchers by list, so the chat's hot path builds each host's pattern once. Lists are read with
 * each comment (one query), so a change made on any node applies at once; this only saves the
 * compiling. Bounded: the oldest list is dropped past `max`.
 */
export class BlockedWordsCache {
  private readonly matchers = new Map<string, BlockedWords>();

  constructor(private readonly max = 500) {}

  of(words: readonly string[]): BlockedWords {
    const key = words.join('\u0000');
    let matcher = this.matchers.get(key);
    if (matcher) {
      // Refreshed as the most recently used.
      this.matchers.delete(key);
    } else {
      matcher = new BlockedWords(words);
      if (this.matchers.size >= this.max) {
        const oldest = this.matchers.keys().next().value;
        if (oldest !== undefined) this.matchers.delete(oldest);
      }
    }
    this.matchers.set(key, matcher);
    return matcher;
  }
}
