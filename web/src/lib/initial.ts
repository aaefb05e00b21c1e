const graphemes =
  typeof Intl !== 'undefined' && 'Segmenter' in Intl
    ? new Intl.Segmenter(undefined, { granularity: 'grapheme' })
    : null;

/**
 * The first character a reader sees in `name`: a whole grapheme cluster, so an emoji (a surrogate
 * pair, a flag, a family joined by ZWJ) or a letter with combining marks is never cut in half
 * (which shows "�"). Upper-cased when it is a letter; an emoji is left as it is.
 */
export function initialOf(name: string): string {
  const text = name.trim();
  if (!text) return '?';
  const first = graphemes
    ? (graphemes.segment(text)[Symbol.iterator]().next().value?.segment ?? '?')
    : // Without Intl.Segmenter, whole code points at least: never half a surrogate pair.
      (Array.from(text)[0] ?? '?');
  return first.toLocaleUpperCase();
}
