import { Activity, Users } from 'lucide-react';
import { useState, type ReactNode } from 'react';
import type { StreamHealth } from '../../lib/rtc';
import { clock } from './format';
import { ViewerCountAnnouncement } from './ViewerCountAnnouncement';

/**
 * The strip over the host's video, whether they publish from this device or manage the stream
 * from another: status, time live, who is watching, the title, and the stream's health (always
 * shown on a wide screen, behind a toggle on a phone).
 */
export function HostBar({
  status,
  live,
  startedAt,
  now,
  viewerCount,
  title,
  health,
  healthLabel,
  children,
}: {
  status: string;
  live: boolean;
  startedAt: string;
  now: number;
  viewerCount: number;
  title: string;
  health: StreamHealth | null;
  /** What the numbers are: what this device sends, or what it receives. */
  healthLabel: string;
  /** Notices between the count and the title (e.g. "Muted"). */
  children?: ReactNode;
}) {
  const [showHealth, setShowHealth] = useState(false);
  return (
    <>
      <div className="absolute inset-x-0 top-0 flex min-w-0 items-center gap-2 bg-gradient-to-b from-black/80 p-3 text-sm">
        <span
          className={`shrink-0 rounded px-2 py-0.5 font-bold ${live ? 'bg-rose-600' : 'bg-zinc-700'}`}
          data-testid="broadcast-status"
        >
          {status}
        </span>
        <span className="shrink-0 tabular-nums" aria-label="Elapsed time">
          {clock((now - Date.parse(startedAt)) / 1000)}
        </span>
        <span className="flex shrink-0 items-center gap-1" aria-label={`${viewerCount} watching`}>
          <Users className="h-4 w-4" aria-hidden />{' '}
          <span data-testid="viewer-count">{viewerCount}</span>
        </span>
        <ViewerCountAnnouncement viewerCount={viewerCount} />
        {children}
        <h1 className="min-w-0 flex-1 truncate font-semibold" title={title}>
          {title}
        </h1>
        {health && (
          <button
            type="button"
            className="shrink-0 rounded p-1 hover:bg-white/10 md:hidden"
            aria-expanded={showHealth}
            aria-controls="stream-health"
            aria-label={showHealth ? 'Hide stream health' : 'Show stream health'}
            onClick={() => setShowHealth((s) => !s)}
          >
            <Activity className="h-4 w-4" aria-hidden />
          </button>
        )}
      </div>
      {health && (
        <dl
          id="stream-health"
          className={`absolute right-3 top-12 grid-cols-2 gap-x-3 rounded bg-black/70 p-2 text-xs md:grid ${showHealth ? 'grid' : 'hidden'}`}
          aria-label={healthLabel}
        >
          <dt>Bitrate</dt>
          <dd>{health.kbps} kbit/s</dd>
          <dt>Frame rate</dt>
          <dd>{health.fps} fps</dd>
          <dt>Resolution</dt>
          <dd>
            {health.width}×{health.height}
          </dd>
          <dt>Loss</dt>
          <dd>{health.lossPct}%</dd>
        </dl>
      )}
    </>
  );
}
