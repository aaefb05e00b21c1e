import { Maximize, Minimize, PictureInPicture2, Volume2, VolumeX } from 'lucide-react';
import { useEffect, useState, type ReactNode, type RefObject } from 'react';

export const control = 'rounded-lg p-2 text-zinc-100 hover:bg-white/15';

/** Safari on iPhone has fullscreen for a video element only, under a prefixed name. */
type IosVideo = HTMLVideoElement & { webkitEnterFullscreen?: () => void };

/**
 * Volume, mute, picture-in-picture and fullscreen for the live video; `children` (the quality
 * menu) go before fullscreen.
 */
export function PlayerControls({
  video,
  container,
  muted,
  onMutedChange,
  children,
}: {
  video: RefObject<HTMLVideoElement | null>;
  /** What goes fullscreen: the video with its overlays. */
  container: RefObject<HTMLElement | null>;
  muted: boolean;
  onMutedChange: (muted: boolean) => void;
  children?: ReactNode;
}) {
  const [volume, setVolume] = useState(1);
  const [fullscreen, setFullscreen] = useState(false);
  const [pip, setPip] = useState(false);
  const pipSupported = typeof document !== 'undefined' && document.pictureInPictureEnabled;

  useEffect(() => {
    const onChange = () => setFullscreen(document.fullscreenElement !== null);
    document.addEventListener('fullscreenchange', onChange);
    return () => document.removeEventListener('fullscreenchange', onChange);
  }, []);

  useEffect(() => {
    const el = video.current;
    if (!el) return;
    const enter = () => setPip(true);
    const leave = () => setPip(false);
    el.addEventListener('enterpictureinpicture', enter);
    el.addEventListener('leavepictureinpicture', leave);
    return () => {
      el.removeEventListener('enterpictureinpicture', enter);
      el.removeEventListener('leavepictureinpicture', leave);
    };
  }, [video]);

  useEffect(() => {
    if (video.current) video.current.volume = volume;
  }, [video, volume]);

  const toggleFullscreen = () => {
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => undefined);
      return;
    }
    const target = container.current;
    if (target?.requestFullscreen) target.requestFullscreen().catch(() => undefined);
    else (video.current as IosVideo | null)?.webkitEnterFullscreen?.();
  };

  const togglePip = () => {
    if (document.pictureInPictureElement) document.exitPictureInPicture().catch(() => undefined);
    else video.current?.requestPictureInPicture().catch(() => undefined);
  };

  const silent = muted || volume === 0;
  return (
    <div
      className="flex items-center gap-1 rounded-xl bg-black/60 px-1 py-0.5 backdrop-blur"
      role="group"
      aria-label="Player controls"
    >
      <button
        type="button"
        className={control}
        aria-label={silent ? 'Unmute' : 'Mute'}
        onClick={() => {
          if (silent && volume === 0) setVolume(1);
          onMutedChange(!silent);
        }}
      >
        {silent ? (
          <VolumeX className="h-5 w-5" aria-hidden />
        ) : (
          <Volume2 className="h-5 w-5" aria-hidden />
        )}
      </button>
      <input
        type="range"
        min={0}
        max={1}
        step={0.05}
        value={muted ? 0 : volume}
        aria-label="Volume"
        className="w-16 accent-rose-500 sm:w-24"
        onChange={(e) => {
          const next = Number(e.target.value);
          setVolume(next);
          onMutedChange(next === 0);
        }}
      />
      {pipSupported && (
        <button
          type="button"
          className={control}
          aria-label={pip ? 'Exit picture-in-picture' : 'Picture-in-picture'}
          aria-pressed={pip}
          onClick={togglePip}
        >
          <PictureInPicture2 className="h-5 w-5" aria-hidden />
        </button>
      )}
      {children}
      <button
        type="button"
        className={control}
        aria-label={fullscreen ? 'Exit fullscreen' : 'Fullscreen'}
        onClick={toggleFullscreen}
      >
        {fullscreen ? (
          <Minimize className="h-5 w-5" aria-hidden />
        ) : (
          <Maximize className="h-5 w-5" aria-hidden />
        )}
      </button>
    </div>
  );
}
