import type { StreamLayer } from '@onair/protocol';
import { Activity, Users } from 'lucide-react';
import { useState, type ReactNode } from 'react';
import type { StreamHealth } from '../../lib/rtc';
import { clock } from './format';
import { pixelsOf } from './quality';
import { ViewerCountAnnouncement } from './ViewerCountAnnouncement';

/**
 * The strip over the host's video, whether they publish from this device or manage the stream
 * from another: status, time live, who is watching, the title, and the stream's health (always
 * shown on a wide screen, behind a toggle on a phone) with the layers the server receives.
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
  layers = [],
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
  /** The broadcaster's simulcast layers as the server reports them, lowest first. */
  layers?: readonly StreamLayer[];
  /** Notices between the count and the title (e.g. "Muted"). */
  children?: ReactNode;
}) {
  const [showHealth, setShowHealth] = useState(false);
  const shown = health !== null || layers.length > 0;
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
        {shown && (
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
      {shown && (
        <div
          id="stream-health"
          className={`absolute right-3 top-12 flex-col gap-2 rounded bg-black/70 p-2 text-xs md:flex ${showHealth ? 'flex' : 'hidden'}`}
        >
          {health && (
            <dl className="grid grid-cols-2 gap-x-3" aria-label={healthLabel}>
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
          {layers.length > 0 && <LayerTable layers={layers} />}
        </div>
      )}
    </>
  );
}

/** One row per layer, highest first: its height, whether it is sent, its rate and its viewers. */
function LayerTable({ layers }: { layers: readonly StreamLayer[] }) {
  return (
    <table className="tabular-nums" data-testid="stream-layers">
      <caption className="text-left font-semibold">Layers</caption>
      <thead className="sr-only">
        <tr>
          <th scope="col">Height</th>
          <th scope="col">State</th>
          <th scope="col">Bitrate</th>
          <th scope="col">Viewers</th>
        </tr>
      </thead>
      <tbody>
        {/* Keyed by rank: layers not measured yet all read 0×0. */}
        {layers
          .map((layer, rank) => ({ layer, rank }))
          .reverse()
          .map(({ layer, rank }) => (
            <tr key={rank}>
              <th scope="row" className="pr-3 text-left font-normal">
                {/* Unmeasured until its first keyframe tells the server its size. */}
                {pixelsOf(layer) > 0 ? `${pixelsOf(layer)}p` : '–'}
              </th>
              <td className={`pr-3 ${layer.active ? 'text-emerald-300' : 'text-zinc-400'}`}>
                {layer.active ? 'sent' : 'paused'}
              </td>
              <td className="pr-3 text-right">{layer.bitrateKbps} kbit/s</td>
              <td className="text-right">
                {layer.viewers} {layer.viewers === 1 ? 'viewer' : 'viewers'}
              </td>
            </tr>
          ))}
      </tbody>
    </table>
  );
}
