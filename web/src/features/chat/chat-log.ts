import type { LiveComment } from '@onair/protocol';

/**
 * Adds `incoming` to `current`, each comment once (by id), in the order the server keeps them
 * (by time; the sort is stable, so comments of one instant keep the order they came in).
 * Returns `current` itself when nothing is new, so React skips the render.
 */
export function mergeComments(current: LiveComment[], incoming: LiveComment[]): LiveComment[] {
  const seen = new Set(current.map((c) => c.id));
  const fresh: LiveComment[] = [];
  for (const comment of incoming) {
    if (seen.has(comment.id)) continue;
    seen.add(comment.id);
    fresh.push(comment);
  }
  if (!fresh.length) return current;
  return [...current, ...fresh].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
}
