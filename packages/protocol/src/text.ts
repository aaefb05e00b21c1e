/**
 * What characters a text field accepts. Every field refuses control characters: NUL cannot be
 * stored in a PostgreSQL text column (the insert fails), and the other C0/C1 controls and DEL
 * are invisible in the web app yet rewrite terminals and logs. Lone surrogates are not Unicode
 * at all: the database would keep a replacement character instead of what was sent.
 */

/** C0 controls (tab and line breaks included), DEL, C1 controls, and U+2028/U+2029. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const anyControl = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/u;
/** The same, less tab, line feed, carriage return and the Unicode line/paragraph separators. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlExceptLineBreaks = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
const loneSurrogate = /\p{Surrogate}/u;

/**
 * Characters that draw nothing, or reorder what is drawn around them: with them one name can
 * pass for another ("admin" vs "ad\u200Bmin") or turn the text after it backwards (U+202E).
 * Bidi controls, zero-width characters, soft hyphen, invisible operators, Hangul fillers (a
 * well-known way to make a blank name) and tag characters.
 */
const invisible =
  /[\u00AD\u061C\u115F\u1160\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0\u{E0000}-\u{E007F}]/u;
/** ZWJ inside an emoji sequence (a family emoji) draws one picture, not an invisible gap: it is kept. */
const emojiJoiner =
  /(?<=\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?)\u200D(?=\p{Extended_Pictographic})/gu;
/** Tag characters spelling a subdivision after U+1F3F4 (the flags of England, Scotland, Wales) draw one flag. */
const flagTags = /(?<=\u{1F3F4})[\u{E0030}-\u{E0039}\u{E0061}-\u{E007A}]{1,6}\u{E007F}/gu;

/**
 * Characters that reorder the text around them (bidi embeddings, overrides, isolates and marks)
 * or hide text in it (tag characters): a comment would show other words than it holds. Chat
 * keeps the invisible characters that writing needs (joiners in emoji and Persian, soft hyphens).
 */
const directionOrTag = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u206F\u{E0000}-\u{E007F}]/u;

/** True when `text` is one line of printable text. */
export const isSingleLine = (text: string): boolean =>
  !anyControl.test(text) && !loneSurrogate.test(text);

/** True when `text` is printable text that may run over several lines (tabs allowed). */
export const isMultiLine = (text: string): boolean =>
  !controlExceptLineBreaks.test(text) && !loneSurrogate.test(text);

/** True when a name shows exactly what it contains: no invisible or direction-changing characters. */
export const isPlainName = (text: string): boolean =>
  isSingleLine(text) && !invisible.test(text.replace(emojiJoiner, '').replace(flagTags, ''));

/** True when chat text shows its words in the order it holds them, as names must. */
export const hasNoDirectionOrTags = (text: string): boolean =>
  !directionOrTag.test(text.replace(flagTags, ''));

export const textMessages = {
  singleLine: 'must be one line without control characters',
  multiLine: 'must not contain control characters',
  plainName: 'must not contain control, invisible or text-direction characters',
  directionOrTags: 'must not contain text-direction or tag characters',
} as const;
