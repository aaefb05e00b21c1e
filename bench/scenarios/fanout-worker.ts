/**
 * A load-generator process for the fan-out scenario: `count` receive-only werift viewers that
 * complete ICE + DTLS over WHEP and then count packets by their (clear-text) RTP headers without
 * decrypting them, so one process can stand in for many viewers. Loss is read from each viewer's
 * own sequence numbers, which the server keeps continuous.
 */
import { RTCPeerConnection } from 'werift';
import { loopbackPeerConfig } from '../../server/test/support/loopback-peers';

const [baseUrl, streamId, token, countText] = process.argv.slice(2);
const count = Number(countText);
const loopback = loopbackPeerConfig;

interface SsrcCount {
  first: number;
  highest: number;
  /** Sequence numbers advance past 65535: unwrap them. */
  cycles: number;
  received: number;
}

class CountingViewer {
  readonly pc = new RTCPeerConnection(loopback);
  private readonly counts = new Map<number, SsrcCount>();
  location = '';

  async join(): Promise<void> {
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const res = await fetch(`${baseUrl}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: this.pc.localDescription!.sdp,
    });
    if (res.status !== 201) throw new Error(`WHEP ${res.status} ${await res.text()}`);
    this.location = res.headers.get('location') ?? '';
    await this.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('viewer did not connect')), 20_000);
      this.pc.connectionStateChange.subscribe((state) => {
        if (state === 'connected') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const transport = this.pc.dtlsTransports[0] as any;
    const dropped = Buffer.from([0x80, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Count from the clear-text header; hand werift a packet it will discard.
    transport.srtp.decrypt = (packet: Buffer) => {
      this.count(packet.readUInt32BE(8), packet.readUInt16BE(2));
      return dropped;
    };
  }

  private count(ssrc: number, seq: number): void {
    const c = this.counts.get(ssrc);
    if (!c) {
      this.counts.set(ssrc, { first: seq, highest: seq, cycles: 0, received: 1 });
      return;
    }
    c.received += 1;
    const ahead = (seq - c.highest + 0x10000) & 0xffff;
    if (ahead > 0 && ahead < 0x8000) {
      if (seq < c.highest) c.cycles += 1;
      c.highest = seq;
    }
  }

  /** Packets received and expected since the last reset. */
  take(): { received: number; expected: number } {
    let received = 0;
    let expected = 0;
    for (const c of this.counts.values()) {
      received += c.received;
      expected += c.cycles * 0x10000 + c.highest - c.first + 1;
    }
    this.counts.clear();
    return { received, expected };
  }

  close(): Promise<void> {
    return this.pc.close();
  }
}

const viewers: CountingViewer[] = [];

async function main(): Promise<void> {
  for (let i = 0; i < count; i += 5) {
    const batch = Array.from({ length: Math.min(5, count - i) }, () => new CountingViewer());
    await Promise.all(batch.map((v) => v.join()));
    viewers.push(...batch);
  }
  process.send!({ type: 'ready' });
}

process.on('message', async (message: { type: string }) => {
  if (message.type === 'reset') {
    for (const v of viewers) v.take();
    process.send!({ type: 'reset-done' });
  } else if (message.type === 'take') {
    let received = 0;
    let expected = 0;
    for (const v of viewers) {
      const t = v.take();
      received += t.received;
      // A viewer whose first packet was lost is counted from its first received one; fine at this scale.
      expected += t.expected;
    }
    process.send!({ type: 'counts', received, expected });
  } else if (message.type === 'close') {
    await Promise.all(viewers.map((v) => v.close().catch(() => undefined)));
    process.exit(0);
  }
});

main().catch((error: unknown) => {
  process.send!({ type: 'error', message: String(error) });
  process.exit(1);
});
