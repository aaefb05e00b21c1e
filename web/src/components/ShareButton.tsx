import { Share2 } from 'lucide-react';
import { useEffect, useState } from 'react';
import { copyText } from '../lib/clipboard';
import { Button } from './Button';

/** Shares a link with the system's share sheet where there is one, or copies it. */
export function ShareButton({ title, url }: { title: string; url: string }) {
  const [feedback, setFeedback] = useState<string | null>(null);
  useEffect(() => {
    if (!feedback) return;
    const timer = setTimeout(() => setFeedback(null), 2500);
    return () => clearTimeout(timer);
  }, [feedback]);

  const share = async () => {
    if (typeof navigator.share === 'function') {
      try {
        await navigator.share({ title, url });
        return;
      } catch (e) {
        // Closing the share sheet is a choice, not a failure; anything else falls back to copying.
        if ((e as DOMException).name === 'AbortError') return;
      }
    }
    setFeedback((await copyText(url)) ? 'Link copied' : 'Could not copy the link');
  };

  return (
    <span className="relative inline-flex">
      <Button
        type="button"
        variant="secondary"
        className="px-3 py-1.5 text-sm"
        // `share` reports its outcome beside the button.
        onClick={() => void share()}
      >
        <Share2 className="h-4 w-4" aria-hidden /> Share
      </Button>
      <span
        role="status"
        className={
          feedback
            ? 'pointer-events-none absolute right-0 top-full z-10 mt-1 whitespace-nowrap rounded bg-zinc-800 px-2 py-1 text-xs'
            : 'sr-only'
        }
      >
        {feedback}
      </span>
    </span>
  );
}
