import { PeerConnection } from 'node-datachannel';
import { MediaError } from './MediaError';
import { announceAddress } from './sdp';

/** Where the server's media sockets live and what address they announce. */
export interface MediaNetworkOptions {
  /** Address the media UDP sockets bind to; every interface when absent. */
  bindAddress?: string | undefined;
  /** UDP port range for media; any free port when absent. */
  portRange?: [number, number] | undefined;
  /** Address put in the server's candidates instead of the bound one (a server behind NAT). */
  announcedIp?: string | undefined;
}

let connections = 0;

/**
 * A peer connection that gathers host candidates only: the server is the public end, and on a
 * closed network a STUN server it was not given would only cost time.
 */
export function createPeerConnection(network: MediaNetworkOptions, name: string): PeerConnection {
  connections += 1;
  return new PeerConnection(`${name}-${connections}`, {
    iceServers: [],
    ...(network.bindAddress ? { bindAddress: network.bindAddress } : {}),
    ...(network.portRange
      ? { portRangeBegin: network.portRange[0], portRangeEnd: network.portRange[1] }
      : {}),
  });
}

/**
 * The local description once its candidates are in it, so that clients which do not trickle
 * (OBS, many WHEP players) get a usable answer. Host-only gathering takes a few milliseconds.
 */
export async function gatheredDescription(
  pc: PeerConnection,
  network: MediaNetworkOptions,
  timeoutMs = 3000,
): Promise<string> {
  if (pc.gatheringState() !== 'complete') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      pc.onGatheringStateChange((state) => {
        if (state === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
      // It may have completed between the check and the subscription.
      if (pc.gatheringState() === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  }
  const description = pc.localDescription();
  if (!description) throw new MediaError('negotiation_failed', 'No local description');
  return announceAddress(description.sdp, network.announcedIp);
}

/** Runs one step of libdatachannel's negotiation; what it throws becomes a clean `invalid_sdp`. */
export function negotiating<T>(what: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof MediaError) throw error;
    throw new MediaError(
      'invalid_sdp',
      'The session description could not be used',
      `${what}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** A remote ICE candidate as the transports pass it on (trickle over Socket.IO or WHIP/WHEP PATCH). */
export interface RemoteCandidate {
  candidate: string;
  sdpMid?: string | null | undefined;
  sdpMLineIndex?: number | null | undefined;
}

export function addRemoteCandidate(
  pc: PeerConnection,
  candidate: RemoteCandidate,
  mids: string[],
): void {
  const text = candidate.candidate.replace(/^a=/, '');
  if (!text.startsWith('candidate:')) return;
  const mid =
    candidate.sdpMid ??
    (candidate.sdpMLineIndex != null ? mids[candidate.sdpMLineIndex] : undefined) ??
    mids[0];
  if (mid === undefined) return;
  negotiating('remote candidate', () => pc.addRemoteCandidate(text, mid));
}
