import type { QualityChoice } from '@onair/protocol';
import type { LiveSocket } from './live-socket';
import {
  answerReceivesSimulcast,
  sendEncodings,
  trackSize,
  withoutScalabilityMode,
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
 * The camera's transceiver with its layers; a browser that refuses `scalabilityMode` (it checks
 * the mode against its codecs) gets the same layers without it.
 */
function addVideoTransceiver(
  pc: RTCPeerConnection,
  track: MediaStreamTrack | 'video',
  media: MediaStream,
  encodings: RTCRtpEncodingParameters[],
): RTCRtpTransceiver {
  const init = (sendEncodings: RTCRtpEncodingParameters[]): RTCRtpTransceiverInit => ({
    direction: 'sendonly',
    streams: [media],
    sendEncodings,
  });
  try {
    return pc.addTransceiver(track, init(encodings));
  } catch {
    return pc.addTransceiver(track, init(withoutScalabilityMode(encodings)));
  }
}

/**
 * Sends the camera to the server (the SFU answers the broadcaster's offer). The same `media` may
 * be published again on a new connection, e.g. after the socket came back: tracks are shared,
 * never re-captured. The camera goes out in layers (`sendEncodings`) unless `layers` is false;
 * a server whose answer does not receive them is offered the camera again in one encoding.
 */
export async function publish(
  socket: LiveSocket,
  streamId: string,
  media: MediaStream,
  iceServers: RTCIceServer[],
  layers = true,
): Promise<RTCPeerConnection> {
  const pc = new RTCPeerConnection({ iceServers });
  try {
    // The camera may be off (its track stopped and gone): the video line is offered all the same,
    // so turning it on later only replaces the sender's track, with no new offer.
    const tracks: (MediaStreamTrack | 'video')[] = media.getTracks();
    if (!media.getVideoTracks().length) tracks.push('video');
    let layered = false;
    for (const track of tracks) {
      if (track !== 'video' && track.kind !== 'video') {
        pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
        continue;
      }
      const { width, height } = trackSize(track === 'video' ? undefined : track);
      const encodings = layers ? sendEncodings(width, height) : sendEncodings(0, 0);
      const { sender } = addVideoTransceiver(pc, track, media, encodings);
      layered = encodings.length > 1;
      // Keep the camera's resolution and let the frame rate give way first.
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
    if (layered && !answerReceivesSimulcast(description.sdp)) {
      // It echoed the layers back (or dropped them): none would be sent on this connection.
      pc.close();
      return await publish(socket, streamId, media, iceServers, false);
    }
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

/**
 * Outgoing video health from `getStats`, as a difference from the previous sample. With
 * simulcast the bitrate is all layers together, and the size and frame rate the top layer's.
 */
export function healthSampler(pc: RTCPeerConnection): () => Promise<StreamHealth | null> {
  let previous: { bytes: number; at: number } | null = null;
  return async () => {
    let out: StreamHealth | null = null;
    let bytes = 0;
    let at = 0;
    let lost = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        bytes += r.bytesSent ?? 0;
        at = r.timestamp;
        const height = r.frameHeight ?? 0;
        if (!out || height > out.height)
          out = {
            kbps: 0,
            fps: r.framesPerSecond ?? 0,
            width: r.frameWidth ?? 0,
            height,
            lossPct: 0,
          };
      }
      if (r.type === 'remote-inbound-rtp' && r.kind === 'video')
        lost = Math.max(lost, (r.fractionLost ?? 0) * 100);
    });
    if (!out) return null;
    const health: StreamHealth = out;
    if (previous && at > previous.at)
      health.kbps = Math.round(((bytes - previous.bytes) * 8) / (at - previous.at));
    health.lossPct = Math.round(lost * 10) / 10;
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
