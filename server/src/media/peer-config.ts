import { RTCPeerConnection, type PeerConfig, type RTCRtpCodecParameters } from 'werift';
import { headerExtensions } from './codecs';
import { MediaError } from './MediaError';

/** Where the server's media sockets live and what address they announce. */
export interface MediaNetworkOptions {
  /** UDP port range for media; any free port when absent. */
  portRange?: [number, number] | undefined;
  /**
   * Address put in the server's candidates. When absent only 127.0.0.1 is offered, which works
   * for a browser on the same machine and never reaches for another network.
   */
  announcedIp?: string | undefined;
}

/**
 * werift falls back to a public STUN server (a DNS lookup that can hang for 5 s on a closed
 * network) unless it is given one; a loopback address that answers nothing, with no wait, gathers
 * host candidates only and never leaves the machine.
 */
const noStun = [{ urls: 'stun:127.0.0.1:9' }];

export function createPeerConnection(
  network: MediaNetworkOptions,
  codecs: { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] },
  role: 'publisher' | 'viewer',
): RTCPeerConnection {
  const config: Partial<PeerConfig> = {
    codecs,
    // Viewers' connections carry no header extensions: werift's sender writes them with ids that
    // can disagree with the negotiated ones, and Chrome then drops the video. Without them Chrome
    // demultiplexes by the SSRCs in the SDP.
    headerExtensions: role === 'publisher' ? headerExtensions() : { audio: [], video: [] },
    iceServers: noStun,
    iceStunGatherTimeout: 0,
    icePortRange: network.portRange,
    bundlePolicy: 'max-bundle',
    ...(network.announcedIp
      ? { iceUseIpv4: true, iceUseIpv6: false, iceAdditionalHostAddresses: [network.announcedIp] }
      : { iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'] }),
  };
  return new RTCPeerConnection(config);
}

/** Rejects what is not an SDP offer with media before werift sees it. */
export function assertSdpOffer(sdp: string): void {
  if (!sdp.startsWith('v=0') || !/^m=(audio|video) /m.test(sdp) || !/^a=fingerprint:/m.test(sdp)) {
    throw new MediaError('invalid_sdp', 'Not an SDP offer with audio or video');
  }
}

/** Runs a werift negotiation step; its parse errors become `invalid_sdp`. */
export async function negotiating<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof MediaError) throw error;
    throw new MediaError(
      'invalid_sdp',
      `The SDP could not be negotiated: ${(error as Error).message ?? error}`,
    );
  }
}

/** A remote ICE candidate as the transports pass it on (trickle over Socket.IO or WHIP/WHEP PATCH). */
export interface RemoteCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

export async function addRemoteCandidate(
  pc: RTCPeerConnection,
  candidate: RemoteCandidate,
): Promise<void> {
  await pc.addIceCandidate({
    candidate: candidate.candidate,
    sdpMid: candidate.sdpMid ?? undefined,
    sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
  });
}
