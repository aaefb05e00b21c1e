import { useEffect, useRef, useState } from 'react';

/** Screen readers hear a change of the count at most this often (issue 18). */
const everyMs = 10_000;

/**
 * A polite live region that tells screen-reader users how many are watching when the count
 * changes, at most once every 10 s: the visible number follows every change, while a busy
 * stream's joins and leaves would otherwise talk over everything else. The count on arrival is
 * not announced (the page says it); the latest count is, once the pause is over.
 */
export function ViewerCountAnnouncement({ viewerCount }: { viewerCount: number }) {
  const [spoken, setSpoken] = useState<number | null>(null);
  const base = useRef(viewerCount);
  const lastAt = useRef(0);

  useEffect(() => {
    const current = spoken ?? base.current;
    if (viewerCount === current) return;
    const timer = setTimeout(
      () => {
        lastAt.current = Date.now();
        setSpoken(viewerCount);
      },
      Math.max(0, lastAt.current + everyMs - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [viewerCount, spoken]);

  return (
    <p className="sr-only" aria-live="polite" data-testid="viewer-count-announcement">
      {spoken === null ? '' : `${spoken} watching`}
    </p>
  );
}
