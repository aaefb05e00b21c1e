import { Eye, EyeOff, RefreshCw } from 'lucide-react';
import { useState } from 'react';
import { Button } from '../../components/Button';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton';
import { reachableUrl } from './reachable-url';
import { useStreamKey } from './useStreamKey';

// Wraps rather than truncating: the whole value is visible, and a long one never widens the page.
const field =
  'min-w-0 flex-1 break-all rounded-lg border border-zinc-700 bg-zinc-950 px-3 py-1.5 font-mono text-sm';

/** The WHIP URL and the persistent key (masked until asked), each with a copy button. */
export function StreamKeyPanel({ allowRotate = false }: { allowRotate?: boolean }) {
  const { info, error, rotate } = useStreamKey();
  const [shown, setShown] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [rotated, setRotated] = useState(false);

  if (error && !info)
    return (
      <p role="alert" className="text-sm text-rose-300">
        {error}
      </p>
    );
  if (!info)
    return (
      <p role="status" className="text-sm text-zinc-400">
        Loading your stream key…
      </p>
    );
  const whipUrl = reachableUrl(info.whipUrl, window.location);
  return (
    <div className="flex min-w-0 flex-col gap-3" data-testid="stream-key-panel">
      <div className="flex min-w-0 flex-col gap-1 text-sm">
        <span id="whip-url-label">Server (WHIP URL)</span>
        <div className="flex min-w-0 items-center gap-2">
          <output aria-labelledby="whip-url-label" className={field} data-testid="whip-url">
            {whipUrl}
          </output>
          <CopyButton text={whipUrl} label="Copy WHIP URL" />
        </div>
      </div>
      <div className="flex min-w-0 flex-col gap-1 text-sm">
        <span id="stream-key-label">Stream key (Bearer Token)</span>
        <div className="flex min-w-0 flex-wrap items-center gap-2">
          <output aria-labelledby="stream-key-label" className={field} data-testid="stream-key">
            {shown ? info.streamKey : '•'.repeat(16)}
          </output>
          <div className="flex gap-2">
            <Button
              type="button"
              variant="secondary"
              className="px-3 py-1.5 text-sm"
              aria-pressed={shown}
              onClick={() => setShown((s) => !s)}
            >
              {shown ? (
                <EyeOff className="h-4 w-4" aria-hidden />
              ) : (
                <Eye className="h-4 w-4" aria-hidden />
              )}
              {shown ? 'Hide' : 'Show'}
            </Button>
            <CopyButton text={info.streamKey} label="Copy stream key" />
          </div>
        </div>
        <p className="text-xs text-zinc-500">
          Anyone with this key can go live as you. Keep it secret.
        </p>
      </div>
      {allowRotate && (
        <div className="flex flex-col items-start gap-2">
          <Button type="button" variant="secondary" onClick={() => setConfirming(true)}>
            <RefreshCw className="h-4 w-4" aria-hidden /> Rotate stream key
          </Button>
          {rotated && (
            <p role="status" className="text-sm text-emerald-300">
              New key made. Paste it into OBS; the old one no longer works.
            </p>
          )}
          {error && (
            <p role="alert" className="text-sm text-rose-300">
              {error}
            </p>
          )}
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title="Rotate your stream key?"
          confirmLabel="Rotate key"
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            setRotated(false);
            // `rotate` shows its own failure as the panel's error.
            void rotate().then(setRotated);
          }}
        >
          The current key stops working at once: OBS needs the new one before it can go live again.
        </ConfirmDialog>
      )}
    </div>
  );
}
