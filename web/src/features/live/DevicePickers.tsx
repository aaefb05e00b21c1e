import { useEffect, useState } from 'react';
import { listDevices } from '../../lib/media-devices';

const select =
  'w-full min-w-0 truncate rounded-lg border border-zinc-700 bg-zinc-900 px-2 py-1.5 text-sm';

/** The device a track comes from, as the browser reports it. */
export const deviceOf = (media: MediaStream | null, kind: 'audio' | 'video'): string =>
  media
    ?.getTracks()
    .find((t) => t.kind === kind)
    ?.getSettings().deviceId ?? '';

/** Camera and microphone choices; the lists are read again whenever `media` changes. */
export function DevicePickers({
  media,
  onPick,
  className = '',
}: {
  media: MediaStream | null;
  onPick: (kind: 'audio' | 'video', deviceId: string) => void;
  className?: string;
}) {
  const [cameras, setCameras] = useState<MediaDeviceInfo[]>([]);
  const [microphones, setMicrophones] = useState<MediaDeviceInfo[]>([]);
  useEffect(() => {
    if (!media) return;
    let cancelled = false;
    const read = () => {
      // Settles its own failure: the lists stay as they were.
      void listDevices()
        .then((d) => {
          if (cancelled) return;
          setCameras(d.cameras);
          setMicrophones(d.microphones);
        })
        .catch(() => undefined);
    };
    read();
    navigator.mediaDevices.addEventListener('devicechange', read);
    return () => {
      cancelled = true;
      navigator.mediaDevices.removeEventListener('devicechange', read);
    };
  }, [media]);

  return (
    <div className={`grid min-w-0 gap-2 sm:grid-cols-2 ${className}`}>
      <label className="flex min-w-0 flex-col gap-1 text-xs text-zinc-400">
        Camera
        <select
          className={select}
          value={deviceOf(media, 'video')}
          onChange={(e) => onPick('video', e.target.value)}
        >
          {cameras.map((d, i) => (
            <option key={d.deviceId || i} value={d.deviceId}>
              {d.label || `Camera ${i + 1}`}
            </option>
          ))}
        </select>
      </label>
      <label className="flex min-w-0 flex-col gap-1 text-xs text-zinc-400">
        Microphone
        <select
          className={select}
          value={deviceOf(media, 'audio')}
          onChange={(e) => onPick('audio', e.target.value)}
        >
          {microphones.map((d, i) => (
            <option key={d.deviceId || i} value={d.deviceId}>
              {d.label || `Microphone ${i + 1}`}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

/** A bar that follows the microphone's level. */
export function MicMeter({ level }: { level: number }) {
  const percent = Math.round(level * 100);
  return (
    <div className="flex items-center gap-2 text-xs text-zinc-400">
      <span className="shrink-0">Mic level</span>
      <div
        role="meter"
        aria-label="Microphone level"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="h-2 flex-1 overflow-hidden rounded-full bg-zinc-800"
      >
        <div
          className="h-full rounded-full bg-emerald-500 transition-[width] duration-75"
          style={{ width: `${percent}%` }}
        />
      </div>
    </div>
  );
}
