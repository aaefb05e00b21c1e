/**
 * A receive-only werift WHEP viewer that completes ICE + DTLS and then counts packets by their
 * clear-text RTP headers without decrypting them. Costs about as much CPU per packet as the
 * werift server spends forwarding it: use node-datachannel viewers beyond ~100 viewers.
 */
import { RTCPeerConnection } from 'werift';
import { connected, loopbackPeerConfig } from '../../../server/test/support/loopback-peers';
import { RtpCounter } from '../rtp-count';
import {
  deleteWhep,
  postWhep,
  type CountingViewer,
  type ViewerCounts,
  type WhepTarget,
} from './types';

export class WeriftViewer implements CountingViewer {
  readonly pc = new RTCPeerConnection(loopbackPeerConfig);
  private readonly counter = new RtpCounter();
  private resource = '';

  constructor(private readonly target: WhepTarget) {}

  async join(timeoutMs = 10_000): Promise<void> {
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const { answer, resource } = await postWhep(this.target, this.pc.localDescription!.sdp);
    this.resource = resource;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await connected(this.pc, timeoutMs);
    const transport = this.pc.dtlsTransports[0] as any;
    const dropped = Buffer.from([0x80, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Count from the clear-text header; hand werift a packet it will discard.
    transport.srtp.decrypt = (packet: Buffer) => {
      this.counter.add(packet.readUInt32BE(8), packet.readUInt16BE(2));
      return dropped;
    };
  }

  take(): ViewerCounts {
    return this.counter.take();
  }

  async close(withDelete = false): Promise<void> {
    try {
      if (withDelete) await deleteWhep(this.target, this.resource);
    } finally {
      await this.pc.close().catch(() => undefined);
    }
  }
}
