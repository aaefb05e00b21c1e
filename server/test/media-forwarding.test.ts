import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericNack, RtcpTransportLayerFeedback, type RtpPacket } from 'werift';
import {
  api,
  connectSocket,
  emitAck,
  registerUser,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';
import {
  FixturePublisher,
  RecordingViewer,
  connected,
  fingerprint,
  waitFor,
} from './support/loopback-peers';
import { isVp8KeyframeStart, loadFixture } from './support/rtp-fixture';

/** A viewer that also keeps every decrypted packet as it came off the wire, duplicates included. */
class WireViewer extends RecordingViewer {
  readonly wire: { ssrc: number; packet: RtpPacket; at: number }[] = [];

  override async offer(): Promise<string> {
    const sdp = await super.offer();
    this.pc.dtlsTransports[0]!.onRtp.subscribe((packet) => {
      this.wire.push({ ssrc: packet.header.ssrc, packet, at: performance.now() });
    });
    return sdp;
  }

  override async answer(offer: string): Promise<string> {
    const sdp = await super.answer(offer);
    this.pc.dtlsTransports[0]!.onRtp.subscribe((packet) => {
      this.wire.push({ ssrc: packet.header.ssrc, packet, at: performance.now() });
    });
    return sdp;
  }

  wireOf(kind: 'audio' | 'video') {
    return this.wire.filter((w) => this.kindOf.get(w.ssrc) === kind);
  }
}

describe('the SFU forwards real VP8 and Opus to werift viewers', () => {
  let server: TestServer;
  let host: TestUser;
  let viewerUser: TestUser;
  let streamId: string;
  let publisher: FixturePublisher;
  let socket: ClientSocket;
  const viewers: RecordingViewer[] = [];
  const fixturePayloads = new Set(loadFixture().map((p) => fingerprint(p.kind, p.packet.payload)));

  beforeAll(async () => {
    server = await startTestServer();
    host = await registerUser(server);
    viewerUser = await registerUser(server);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'fixture' },
    });
    streamId = started.body.streamId;
    publisher = new FixturePublisher();
    const res = await fetch(`${server.url}/api/live/${streamId}/whip`, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        authorization: `Bearer ${started.body.streamKey}`,
      },
      body: await publisher.offer(),
    });
    expect(res.status).toBe(201);
    await publisher.accept(await res.text());
    publisher.start();
    socket = await connectSocket(server, viewerUser.token);
    await emitAck(socket, 'join_live', { streamId });
  });
  afterAll(async () => {
    socket?.close();
    await Promise.all(viewers.map((v) => v.close()));
    await publisher?.close();
    await server?.stop();
  });

  // Each viewer is a user of its own: one user may hold only three sessions of a stream.
  const watchOverWhep = async <V extends RecordingViewer>(viewer: V): Promise<V> => {
    viewers.push(viewer);
    const { token } = await registerUser(server);
    const res = await fetch(`${server.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: await viewer.offer(),
    });
    expect(res.status).toBe(201);
    await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    return viewer;
  };

  it('delivers the publisher payloads intact to every viewer, each with its own SSRCs', async () => {
    const whepViewers = await Promise.all([
      watchOverWhep(new WireViewer()),
      watchOverWhep(new WireViewer()),
    ]);
    // One more through the web app's signalling (the server offers).
    const socketViewer = new WireViewer();
    viewers.push(socketViewer);
    const offer = await emitAck(socket, 'live_offer', { streamId });
    const answer = await socketViewer.answer(offer.description.sdp);
    await emitAck(socket, 'live_answer', {
      streamId,
      description: { type: 'answer', sdp: answer },
    });
    await connected(socketViewer.pc);
    const all = [...whepViewers, socketViewer];
    await Promise.all(all.map((v) => connected(v.pc)));
    await waitFor(
      () => all.every((v) => v.received('video') > 300 && v.received('audio') > 100),
      15_000,
      'media at every viewer',
    );

    const ssrcs = new Set<number>();
    for (const viewer of all) {
      const kinds = new Set(viewer.wire.map((w) => viewer.kindOf.get(w.ssrc)));
      expect(kinds).toEqual(new Set(['audio', 'video']));
      for (const kind of ['audio', 'video'] as const) {
        // Byte for byte what the publisher sent: the SFU never touches a payload.
        const foreign = viewer
          .wireOf(kind)
          .filter((w) => !fixturePayloads.has(fingerprint(kind, w.packet.payload)));
        expect(foreign).toEqual([]);
      }
      for (const { packet } of viewer.wire) ssrcs.add(packet.header.ssrc);
    }
    // Two kinds for each of three viewers: six SSRCs, none shared.
    expect(ssrcs.size).toBe(6);
  }, 60_000);

  it('gives a late joiner a keyframe at once, and asks the publisher for one at most once a second', async () => {
    await new Promise((r) => setTimeout(r, 1200));
    const requestsBefore = publisher.keyframeRequests;
    const late = await Promise.all(
      Array.from({ length: 5 }, () => watchOverWhep(new WireViewer())),
    );
    await Promise.all(late.map((v) => connected(v.pc)));
    const connectedAt = performance.now();
    await waitFor(
      () => late.every((v) => v.wireOf('video').length > 0),
      5000,
      'video at late joiners',
    );
    for (const viewer of late) {
      const firstVideo = viewer.wireOf('video')[0]!;
      expect(isVp8KeyframeStart(firstVideo.packet.payload)).toBe(true);
      expect(firstVideo.at - connectedAt).toBeLessThan(500);
    }
    await new Promise((r) => setTimeout(r, 900));
    // Five viewers asked within a second: the publisher heard one request, maybe a second after it.
    expect(publisher.keyframeRequests - requestsBefore).toBeGreaterThanOrEqual(1);
    expect(publisher.keyframeRequests - requestsBefore).toBeLessThanOrEqual(2);
  }, 30_000);

  it("answers a viewer's NACK from the stream's history without bothering the publisher", async () => {
    const viewer = await watchOverWhep(new WireViewer());
    await connected(viewer.pc);
    // Well past the group of pictures a joiner is sent at once.
    await waitFor(() => viewer.wireOf('video').length > 400, 15_000, 'video');
    const video = viewer.wireOf('video');
    const target = video[video.length - 40]!.packet;
    const copiesOf = () =>
      viewer.wire.filter(
        (w) =>
          w.packet.header.sequenceNumber === target.header.sequenceNumber &&
          w.packet.header.ssrc === target.header.ssrc,
      ).length;
    // werift's receiver NACKs on its own what arrives out of order, so there may already be two.
    const copiesBefore = copiesOf();
    const nacksAtPublisherBefore = (publisher.pc.getTransceivers()[1]!.sender as any)
      .nackCount as number;
    const transport = viewer.pc.dtlsTransports[0]!;
    await transport.sendRtcp([
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({
          senderSsrc: 1,
          mediaSourceSsrc: target.header.ssrc,
          lost: [target.header.sequenceNumber],
        }),
      }),
    ]);
    await waitFor(() => copiesOf() === copiesBefore + 1, 3000, 'the retransmission');
    const resent = viewer.wire.filter(
      (w) =>
        w.packet.header.sequenceNumber === target.header.sequenceNumber &&
        w.packet.header.ssrc === target.header.ssrc,
    )[copiesBefore]!.packet;
    expect(resent.payload.equals(target.payload)).toBe(true);
    expect(resent.header.timestamp).toBe(target.header.timestamp);
    expect((publisher.pc.getTransceivers()[1]!.sender as any).nackCount).toBe(
      nacksAtPublisherBefore,
    );
  }, 30_000);
});
