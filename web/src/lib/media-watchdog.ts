/** What the watchdog reads of a peer connection (an `RTCPeerConnection`). */
export interface WatchedConnection {
  readonly connectionState: RTCPeerConnectionState;
  addEventListener(type: 'connectionstatechange', listener: () => void): void;
  removeEventListener(type: 'connectionstatechange', listener: () => void): void;
}

/**
 * How long a connection may stay `disconnected` before it is given up. Browsers report it after a
 * few seconds without an answer from the server and may take 30 s more to call it `failed`; a
 * server that is gone never answers, and the viewer should be back within 5 s (issue 17).
 */
export const disconnectedGraceMs = 1500;

/**
 * Calls `onLost` once when `pc` fails, or stays disconnected for `graceMs` (a disconnection that
 * heals in time is a blip). Returns what stops watching; the caller closes the connection.
 */
export function watchMedia(
  pc: WatchedConnection,
  onLost: () => void,
  graceMs = disconnectedGraceMs,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const lost = () => {
    if (done) return;
    stop();
    onLost();
  };
  const check = () => {
    const state = pc.connectionState;
    if (state === 'failed') return lost();
    if (state === 'disconnected') {
      timer ??= setTimeout(lost, graceMs);
      return;
    }
    clearTimeout(timer);
    timer = undefined;
  };
  const stop = () => {
    done = true;
    clearTimeout(timer);
    pc.removeEventListener('connectionstatechange', check);
  };
  pc.addEventListener('connectionstatechange', check);
  check();
  return stop;
}

/**
 * The pause before the `failures`-th attempt in a row to connect media again: at once for the
 * first, then doubling from 0.5 s up to 5 s, so a server that keeps failing is not hammered.
 */
export function retryDelayMs(failures: number): number {
  if (failures <= 1) return 0;
  return Math.min(5000, 500 * 2 ** (failures - 2));
}

/** What `receivesMedia` reads of a peer connection (an `RTCPeerConnection`). */
export interface SampledConnection {
  getStats(): Promise<RTCStatsReport>;
}

/** Frames decoded (video) and packets received (audio) so far on `pc`. */
async function mediaProgress(pc: SampledConnection): Promise<{ frames: number; packets: number }> {
  let frames = 0;
  let packets = 0;
  (await pc.getStats()).forEach(
    (report: { type?: string; kind?: string } & Record<string, unknown>) => {
      if (report.type !== 'inbound-rtp') return;
      if (report.kind === 'video') frames += Number(report.framesDecoded ?? 0);
      else packets += Number(report.packetsReceived ?? 0);
    },
  );
  return { frames, packets };
}

/**
 * Whether `pc` shows media flowing over `ms`: video frames decoded, or audio packets received
 * when it has no video. A broadcaster who returns (after a reconnect, or on another node) is
 * usually heard on the viewer's existing session; a new session is opened only when it is not.
 */
export async function receivesMedia(pc: SampledConnection, ms: number): Promise<boolean> {
  const before = await mediaProgress(pc);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await mediaProgress(pc);
  return after.frames > before.frames || (after.frames === 0 && after.packets > before.packets);
}
