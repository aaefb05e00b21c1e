/** Letters, marks and digits of any script, and `_`: what a whole word may not touch. */
const wordChar = String.raw`[\p{L}\p{M}\p{N}_]`;

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A blocked word or phrase as a pattern: its own characters, any run of spaces between words. */
const patternOf = (word: string): string =>
  word
    .trim()
    .split(/\s+/u)
    .filter(Boolean)
    .map(escape)
    .join(String.raw`\s+`);

/**
 * Matches a host's blocked words in chat: whole words only and regardless of case, in any
 * script ("ass" finds "Ass!" but not "class"; "straße" is not found in "straßenbahn").
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
        : new RegExp(`(?<!${wordChar})(?:${patterns.join('|')})(?!${wordChar})`, 'iu');
  }

  /** True when `text` contains one of the words. */
  matches(text: string): boolean {
    return this.pattern?.test(text) ?? false;
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
