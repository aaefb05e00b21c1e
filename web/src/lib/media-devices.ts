/** The camera and microphone a broadcaster chose, remembered in this browser. */
export interface DeviceChoice {
  videoDeviceId: string | null;
  audioDeviceId: string | null;
}

const storageKey = 'onair.devices';

export function rememberedDevices(): DeviceChoice {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) ?? '{}') as Partial<DeviceChoice>;
    return {
      videoDeviceId: typeof saved.videoDeviceId === 'string' ? saved.videoDeviceId : null,
      audioDeviceId: typeof saved.audioDeviceId === 'string' ? saved.audioDeviceId : null,
    };
  } catch {
    return { videoDeviceId: null, audioDeviceId: null };
  }
}

export function rememberDevices(choice: DeviceChoice): void {
  localStorage.setItem(storageKey, JSON.stringify(choice));
}

/**
 * Whether this is a phone or tablet held upright, whose camera gives portrait frames. A desktop
 * window made narrow is not: its webcam is landscape, and asking it for portrait would crop it.
 */
export const isPortraitDevice = (): boolean =>
  typeof matchMedia === 'function' &&
  matchMedia('(orientation: portrait) and (pointer: coarse)').matches;

/**
 * Video constraints for one camera; 720p, which the server forwards as it comes. Only ideals and
 * no aspect ratio: a camera is never forced into a shape, and an upright phone is asked for
 * upright frames (a landscape request would make its browser crop a strip out of the picture).
 */
export const videoConstraints = (
  deviceId: string | null,
  portrait = isPortraitDevice(),
): MediaTrackConstraints => ({
  width: { ideal: portrait ? 720 : 1280 },
  height: { ideal: portrait ? 1280 : 720 },
  // `ideal`: a camera unplugged since it was chosen falls back to another rather than failing.
  ...(deviceId ? { deviceId: { ideal: deviceId } } : {}),
});

export const audioConstraints = (deviceId: string | null): MediaTrackConstraints | true =>
  deviceId ? { deviceId: { ideal: deviceId } } : true;

/** Opens the chosen camera and microphone. */
export function openCamera(choice: DeviceChoice): Promise<MediaStream> {
  return navigator.mediaDevices.getUserMedia({
    video: videoConstraints(choice.videoDeviceId),
    audio: audioConstraints(choice.audioDeviceId),
  });
}

/** Stops every track, which turns the camera light off at once. */
export function release(media: MediaStream | null | undefined): void {
  media?.getTracks().forEach((track) => track.stop());
}

/** Cameras and microphones (labels are known once the page has been allowed to use them). */
export async function listDevices(): Promise<{
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
}> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput'),
    microphones: all.filter((d) => d.kind === 'audioinput'),
  };
}

/** A sentence for a failed getUserMedia. */
export function cameraError(error: unknown): string {
  const name = (error as DOMException)?.name;
  if (name === 'NotAllowedError')
    return 'Camera and microphone access was denied. Allow it in your browser settings to go live.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError')
    return 'No camera or microphone was found. Connect one to go live.';
  if (name === 'NotReadableError') return 'Your camera is in use by another application.';
  return `Could not start the camera: ${(error as Error)?.message ?? String(error)}`;
}
