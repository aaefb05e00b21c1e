import type { LiveSocket } from './live-socket';

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
 * Sends the camera to the server (the SFU answers the broadcaster's offer). The same `media` may
 * be published again on a new connection, e.g. after the socket came back: tracks are shared,
 * never re-captured.
 */
export async function publish(
  socket: LiveSocket,
  streamId: string,
  media: MediaStream,
  iceServers: RTCIceServer[],
): Promise<RTCPeerConnection> {
  const pc = new RTCPeerConnection({ iceServers });
  try {
    for (const track of media.getTracks()) {
      const { sender } = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
      if (track.kind === 'video') {
        // Keep the camera's resolution and let the frame rate give way first.
        const params = sender.getParameters() as RTCRtpSendParameters & {
          degradationPreference?: string;
        };
        params.degradationPreference = 'maintain-resolution';
        await sender.setParameters(params).catch(() => undefined);
      }
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

/** Receives a stream from the server: it offers, the viewer answers and trickles its candidates. */
export async function watch(
  socket: LiveSocket,
  streamId: string,
  iceServers: RTCIceServer[],
  onStream: (stream: MediaStream) => void,
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
    const { description } = await socket.request('live_offer', { streamId });
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

/** Outgoing video health from `getStats`, as a difference from the previous sample. */
export function healthSampler(pc: RTCPeerConnection): () => Promise<StreamHealth | null> {
  let previous: { bytes: number; at: number } | null = null;
  return async () => {
    let out: StreamHealth | null = null;
    let bytes = 0;
    let at = 0;
    let lost = 0;
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        bytes = r.bytesSent ?? 0;
        at = r.timestamp;
        out = {
          kbps: 0,
          fps: r.framesPerSecond ?? 0,
          width: r.frameWidth ?? 0,
          height: r.frameHeight ?? 0,
          lossPct: 0,
        };
      }
      if (r.type === 'remote-inbound-rtp' && r.kind === 'video') lost = (r.fractionLost ?? 0) * 100;
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
