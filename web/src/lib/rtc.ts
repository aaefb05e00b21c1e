import type { QualityChoice, StreamLayer } from '@onair/protocol';
import type { LiveSocket } from './live-socket';
import {
  layerEncodings,
  sectionChanges,
  trackSize,
  withoutScalabilityMode,
  type LayerEncoding,
} from './simulcast';

function localSdp(pc: RTCPeerConnection): string {
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new Error('No local description');
  return sdp;
}

/** Waits (briefly) for ICE gathering so the description carries the browser's candidates. */
function gathered(pc: RTCPeerConnection, ms = 1500): Promise<void> {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, ms);
  });
}

/**
 * One layer's video section: the camera (or, while it is off, nothing yet) in one encoding. A
 * browser that refuses `scalabilityMode` (it checks the mode against its codecs) gets the same
 * encoding without it.
 */
function addVideoSection(
  pc: RTCPeerConnection,
  track: MediaStreamTrack | 'video',
  media: MediaStream,
  encoding: LayerEncoding,
): RTCRtpTransceiver {
  const init = (sendEncoding: RTCRtpEncodingParameters): RTCRtpTransceiverInit => ({
    direction: 'sendonly',
    streams: [media],
    sendEncodings: [sendEncoding],
  });
  try {
    return pc.addTransceiver(track, init(encoding));
  } catch {
    return pc.addTransceiver(track, init(withoutScalabilityMode(encoding)));
  }
}

/** H.264 in packetization mode 1, constrained baseline first; then VP8; then the rest. */
function codecRank(codec: RTCRtpCodec): number {
  const mime = codec.mimeType.toLowerCase();
  const fmtp = codec.sdpFmtpLine ?? '';
  if (mime === 'video/h264' && /packetization-mode=1/.test(fmtp))
    return /profile-level-id=42e0/i.test(fmtp) ? 0 : 1;
  if (mime === 'video/vp8') return 2;
  return 3;
}

/**
 * Offers H.264 first when the browser can encode it: live HLS and replays need it (browsers'
 * MSE plays H.264 in MP4, not VP8). A browser without it keeps its own order (VP8).
 */
function preferH264(transceiver: RTCRtpTransceiver): void {
  const codecs = RTCRtpSender.getCapabilities?.('video')?.codecs;
  if (!codecs || typeof transceiver.setCodecPreferences !== 'function') return;
  const ordered = [...codecs].sort((a, b) => codecRank(a) - codecRank(b));
  if (!ordered[0] || codecRank(ordered[0]) > 1) return;
  try {
    transceiver.setCodecPreferences(ordered);
  } catch {
    // A browser that refuses the list sends what it prefers.
  }
}

/**
 * The senders of one kind, in section order (for video, lowest layer first). Told apart by the
 * receiver's track, since a sender holds none while the camera is off.
 */
export function sendersOf(pc: RTCPeerConnection, kind: 'audio' | 'video'): RTCRtpSender[] {
  return pc
    .getTransceivers()
    .filter((t) => t.currentDirection !== 'stopped' && t.receiver.track.kind === kind)
    .map((t) => t.sender);
}

/**
 * Swaps the camera or microphone without renegotiating: every layer's section gets the new
 * track; `null` sends nothing of that kind (the camera turned off).
 */
export async function replaceTracks(
  pc: RTCPeerConnection,
  kind: 'audio' | 'video',
  track: MediaStreamTrack | null,
): Promise<void> {
  await Promise.all(sendersOf(pc, kind).map((sender) => sender.replaceTrack(track)));
}

/**
 * Pauses each layer nobody needs and resumes each one needed again, as `layers` (the server's
 * `live_layers`, lowest first) says. Calls must not overlap: each change reads and sets a
 * sender's parameters.
 */
export async function followLayers(
  pc: RTCPeerConnection,
  layers: readonly StreamLayer[],
): Promise<void> {
  const senders = sendersOf(pc, 'video');
  const active = senders.map((s) => s.getParameters().encodings[0]?.active ?? true);
  for (const { section, active: next } of sectionChanges(layers, active)) {
    const sender = senders[section];
    const params = sender?.getParameters();
    const encoding = params?.encodings[0];
    if (!sender || !params || !encoding) continue;
    encoding.active = next;
    await sender.setParameters(params);
  }
}

/**
 * Sends the camera to the server (the SFU answers the broadcaster's offer). The same `media` may
 * be published again on a new connection, e.g. after the socket came back: tracks are shared,
 * never re-captured. The camera goes out in layers, one video section each, lowest first
 * (`layerEncodings`).
 */
export async function publish(
  socket: LiveSocket,
  streamId: string,
  media: MediaStream,
  iceServers: RTCIceServer[],
): Promise<RTCPeerConnection> {
  const pc = new RTCPeerConnection({ iceServers });
  try {
    for (const track of media.getAudioTracks())
      pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
    // The camera may be off (its track stopped and gone): its sections are offered all the same,
    // so turning it on later only replaces the senders' track, with no new offer.
    const camera: MediaStreamTrack | 'video' = media.getVideoTracks()[0] ?? 'video';
    const { width, height } = trackSize(camera === 'video' ? undefined : camera);
    for (const encoding of layerEncodings(width, height)) {
      const transceiver = addVideoSection(pc, camera, media, encoding);
      preferH264(transceiver);
      const { sender } = transceiver;
      // Keep each layer's resolution and let the frame rate give way first.
      const params = sender.getParameters() as RTCRtpSendParameters & {
        degradationPreference?: string;
      };
      params.degradationPreference = 'maintain-resolution';
      await sender.setParameters(params).catch(() => undefined);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const { description } = await socket.request('live_offer', {
      streamId,
      description: { type: 'offer', sdp: localSdp(pc) },
    });
    await pc.setRemoteDescription(description);
  } catch (error) {
    // A refused or timed-out offer leaves no connection behind (the caller may try again).
    pc.close();
    throw error;
  }
  return pc;
}

/**
 * Receives a stream from the server: it offers, the viewer answers and trickles its candidates.
 * `quality` is the viewer's choice of layer (default auto); `live_quality` changes it later.
 */
export async function watch(
  socket: LiveSocket,
  streamId: string,
  iceServers: RTCIceServer[],
  onStream: (stream: MediaStream) => void,
  quality: QualityChoice = 'auto',
): Promise<RTCPeerConnection> {
  const pc = new RTCPeerConnection({ iceServers });
  // The server's tracks come without a stream id: collect them into one.
  const media = new MediaStream();
  pc.addEventListener('track', (event) => {
    media.addTrack(event.track);
    onStream(media);
  });
  pc.addEventListener('icecandidate', (event) => {
    if (!event.candidate) return;
    const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = event.candidate.toJSON();
    if (!candidate) return;
    socket
      .request('live_ice_candidate', {
        streamId,
        role: 'watch',
        candidate: { candidate, sdpMid, sdpMLineIndex, usernameFragment },
      })
      .catch(() => undefined);
  });
  try {
    const { description } = await socket.request('live_offer', { streamId, quality });
    await pc.setRemoteDescription(description);
    await pc.setLocalDescription(await pc.createAnswer());
    await socket.request('live_answer', {
      streamId,
      description: { type: 'answer', sdp: localSdp(pc) },
    });
  } catch (error) {
    pc.close();
    throw error;
  }
  return pc;
}

export interface StreamHealth {
  kbps: number;
  fps: number;
  width: number;
  height: number;
  lossPct: number;
}

/** The fields of `getStats` reports that the broadcaster's health reads. */
export interface SentVideoReport {
  type: string;
  kind?: string;
  timestamp: number;
  bytesSent?: number;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  /** Whether the section's encoding is sent (false while its layer is paused). */
  active?: boolean;
  fractionLost?: number;
}

/** What the broadcaster's video sections send together, as of one `getStats`. */
export interface SentVideo {
  /** Bytes sent by every section, and when that was counted (ms). */
  bytes: number;
  at: number;
  /** Size and frame rate of the largest section being sent. */
  width: number;
  height: number;
  fps: number;
  /** The worst fraction lost the server reports for any section, in percent. */
  lossPct: number;
}

/**
 * Sums the outbound video of every section (one per layer). A paused section keeps its last
 * size in its report, so the size shown is the largest section still sent; null without video.
 */
export function sentVideo(reports: Iterable<SentVideoReport>): SentVideo | null {
  let out: SentVideo | null = null;
  let shown: SentVideoReport | null = null;
  let lost = 0;
  for (const r of reports) {
    if (r.type === 'remote-inbound-rtp' && r.kind === 'video')
      lost = Math.max(lost, (r.fractionLost ?? 0) * 100);
    if (r.type !== 'outbound-rtp' || r.kind !== 'video') continue;
    out ??= { bytes: 0, at: 0, width: 0, height: 0, fps: 0, lossPct: 0 };
    out.bytes += r.bytesSent ?? 0;
    out.at = Math.max(out.at, r.timestamp);
    const sent = r.active !== false;
    const shownSent = shown !== null && shown.active !== false;
    if (
      !shown ||
      (sent && !shownSent) ||
      (sent === shownSent && (r.frameHeight ?? 0) > (shown.frameHeight ?? 0))
    )
      shown = r;
  }
  if (!out || !shown) return null;
  out.width = shown.frameWidth ?? 0;
  out.height = shown.frameHeight ?? 0;
  out.fps = shown.framesPerSecond ?? 0;
  out.lossPct = Math.round(lost * 10) / 10;
  return out;
}

/**
 * Outgoing video health from `getStats`, as a difference from the previous sample: the bitrate
 * of all layers together, the size and frame rate of the largest layer sent.
 */
export function healthSampler(pc: RTCPeerConnection): () => Promise<StreamHealth | null> {
  let previous: { bytes: number; at: number } | null = null;
  return async () => {
    const reports = [...(await pc.getStats()).values()] as SentVideoReport[];
    const sent = sentVideo(reports);
    if (!sent) return null;
    const { bytes, at, width, height, fps, lossPct } = sent;
    const health: StreamHealth = { kbps: 0, fps, width, height, lossPct };
    if (previous && at > previous.at)
      health.kbps = Math.round(((bytes - previous.bytes) * 8) / (at - previous.at));
    previous = { bytes, at };
    return health;
  };
}

/**
 * Incoming video health from `getStats`, for a host watching their own stream: what viewers
 * receive, as a difference from the previous sample.
 */
export function inboundHealthSampler(pc: RTCPeerConnection): () => Promise<StreamHealth | null> {
  let previous: { bytes: number; at: number; lost: number; received: number } | null = null;
  return async () => {
    let found: RTCInboundRtpStreamStats | null = null;
    (await pc.getStats()).forEach((r: RTCStats) => {
      const report = r as RTCInboundRtpStreamStats;
      if (report.type === 'inbound-rtp' && report.kind === 'video') found = report;
    });
    if (!found) return null;
    const r: RTCInboundRtpStreamStats = found;
    const bytes = r.bytesReceived ?? 0;
    const lost = r.packetsLost ?? 0;
    const received = r.packetsReceived ?? 0;
    const health: StreamHealth = {
      kbps: 0,
      fps: Math.round(r.framesPerSecond ?? 0),
      width: r.frameWidth ?? 0,
      height: r.frameHeight ?? 0,
      lossPct: 0,
    };
    if (previous && r.timestamp > previous.at) {
      health.kbps = Math.round(((bytes - previous.bytes) * 8) / (r.timestamp - previous.at));
      const lostNow = lost - previous.lost;
      const total = lostNow + received - previous.received;
      health.lossPct = total > 0 ? Math.round((Math.max(0, lostNow) / total) * 1000) / 10 : 0;
    }
    previous = { bytes, at: r.timestamp, lost, received };
    return health;
  };
}
