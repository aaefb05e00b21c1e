import { useEffect, useRef, useState } from 'react';
import {
  cameraError,
  openCamera,
  release,
  rememberDevices,
  rememberedDevices,
  type DeviceChoice,
} from '../../lib/media-devices';
import { DevicePickers, MicMeter } from './DevicePickers';
import { useMicLevel } from './useMicLevel';
import { useVideoAspect } from './useVideoAspect';

/**
 * A look at the camera and a listen to the microphone before going live. The choice is
 * remembered and the broadcast opens the same devices; the preview is released when this closes.
 */
export function CameraCheck() {
  const [choice, setChoice] = useState<DeviceChoice>(rememberedDevices);
  const [media, setMedia] = useState<MediaStream | null>(null);
  const [error, setError] = useState<string | null>(null);
  const video = useRef<HTMLVideoElement>(null);
  const aspect = useVideoAspect(video);
  const level = useMicLevel(media);

  useEffect(() => {
    let cancelled = false;
    let opened: MediaStream | null = null;
    openCamera(choice).then(
      (m) => {
        if (cancelled) return release(m);
        opened = m;
        setMedia(m);
        setError(null);
      },
      (e: unknown) => !cancelled && setError(cameraError(e)),
    );
    return () => {
      cancelled = true;
      release(opened);
      setMedia(null);
    };
  }, [choice]);

  useEffect(() => {
    if (video.current) video.current.srcObject = media;
  }, [media]);

  const pick = (kind: 'audio' | 'video', deviceId: string) => {
    const next =
      kind === 'video'
        ? { ...choice, videoDeviceId: deviceId }
        : { ...choice, audioDeviceId: deviceId };
    rememberDevices(next);
    setChoice(next);
  };

  return (
    <div className="flex min-w-0 flex-col gap-2" data-testid="camera-check">
      {/* The camera's own shape (an upright phone's is portrait), within half the screen's height. */}
      <div
        className="relative mx-auto aspect-[var(--video-aspect)] max-h-[50dvh] w-full max-w-[calc(50dvh*var(--video-w-per-h))] overflow-hidden rounded-lg bg-black"
        style={aspect.style}
      >
        <video
          ref={video}
          autoPlay
          playsInline
          muted
          className="h-full w-full -scale-x-100 object-cover"
          aria-label="Camera check preview"
        />
        {!media && !error && (
          <p className="absolute inset-0 flex items-center justify-center text-sm text-zinc-400">
            Starting camera…
          </p>
        )}
      </div>
      {error && (
        <p role="alert" className="rounded-lg bg-rose-950 px-3 py-2 text-sm text-rose-200">
          {error}
        </p>
      )}
      <DevicePickers media={media} onPick={pick} />
      <MicMeter level={level} />
    </div>
  );
}
