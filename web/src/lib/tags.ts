/** "music, #chat ,  " → ["music", "chat"]: what the tag fields accept. */
export const parseTags = (text: string): string[] =>
  text
    .split(',')
    .map((t) => t.trim().replace(/^#/, ''))
    .filter(Boolean);
