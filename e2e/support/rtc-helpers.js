/* Page-side helpers for the media browser tests: publish and watch over WHIP, WHEP and Socket.IO. */
(() => {
  const w = window;
  const gathered = (pc) =>
    new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener(
        'icegatheringstatechange',
        () => pc.iceGatheringState === 'complete' && resolve(),
      );
      setTimeout(resolve, 1500);
    });

  /** Three layers as the web app sends them: one video section each, lowest first. */
  const simulcastLayers = [
    { scaleResolutionDownBy: 4, maxBitrate: 200_000, scalabilityMode: 'L1T3' },
    { scaleResolutionDownBy: 2, maxBitrate: 700_000, scalabilityMode: 'L1T3' },
    { scaleResolutionDownBy: 1, maxBitrate: 2_500_000, scalabilityMode: 'L1T3' },
  ];

  const camera = async (simulcast = false) => {
    const media = await navigator.mediaDevices.getUserMedia({
      video: { width: 1280, height: 720 },
      audio: true,
    });
    const pc = new RTCPeerConnection();
    if (simulcast) {
      for (const track of media.getAudioTracks())
        pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
      for (const encoding of simulcastLayers) {
        const { sender } = pc.addTransceiver(media.getVideoTracks()[0], {
          direction: 'sendonly',
          streams: [media],
          sendEncodings: [encoding],
        });
        const params = sender.getParameters();
        params.degradationPreference = 'maintain-resolution';
        await sender.setParameters(params).catch(() => undefined);
      }
      return pc;
    }
    for (const track of media.getTracks()) {
      const { sender } = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
      if (track.kind === 'video') {
        const params = sender.getParameters();
        params.degradationPreference = 'maintain-resolution';
        await sender.setParameters(params).catch(() => undefined);
      }
    }
    return pc;
  };

  const connectSocket = (token) =>
    new Promise((resolve, reject) => {
      const socket = w.io(location.origin, { auth: { token }, transports: ['websocket'] });
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  const ack = async (socket, event, payload) => {
    const res = await socket.timeout(10000).emitWithAck(event, payload);
    if (!res.ok) throw new Error(`${event}: ${res.error.code} ${res.error.message}`);
    return res;
  };

  const attachVideo = (pc, startedAt) => {
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
    const state = { video, pc, firstFrameMs: -1 };
    // The server's offer carries no msid, so tracks may come without a stream: gather them in one.
    const media = new MediaStream();
    video.srcObject = media;
    pc.addEventListener('track', (event) => {
      media.addTrack(event.track);
      if (event.track.kind !== 'video') return;
      video.srcObject = media;
      video.play().catch(() => undefined);
      const onFrame = () => {
        if (state.firstFrameMs < 0) state.firstFrameMs = performance.now() - startedAt;
      };
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(onFrame);
      else video.addEventListener('loadeddata', onFrame, { once: true });
    });
    return state;
  };

  w.publishWhip = (streamId, bearer, simulcast = false) =>
    w.publishWhipTo(`/api/live/${streamId}/whip`, bearer, simulcast);

  /** WHIP to any URL: a stream's own, or `/api/live/whip` with the host's persistent key (as OBS). */
  w.publishWhipTo = async (url, bearer, simulcast = false) => {
    const pc = await camera(simulcast);
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${bearer}` },
      body: pc.localDescription.sdp,
    });
    if (res.status !== 201) throw new Error(`WHIP ${res.status}: ${await res.text()}`);
    w.location_ = res.headers.get('location');
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    w.publisher = pc;
    return res.headers.get('location');
  };

  w.publishSocket = async (streamId, token) => {
    const socket = await connectSocket(token);
    await ack(socket, 'join_live', { streamId });
    const pc = await camera();
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const res = await ack(socket, 'live_offer', {
      streamId,
      description: { type: 'offer', sdp: pc.localDescription.sdp },
    });
    await pc.setRemoteDescription(res.description);
    w.publisher = pc;
    w.publisherSocket = socket;
  };

  w.viewers = [];
  w.watchWhep = async (streamId, token, quality) => {
    const startedAt = performance.now();
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const state = attachVideo(pc, startedAt);
    // Trickle ICE (RFC 8840 over WHEP PATCH): post the offer at once, send candidates as they come.
    const pending = [];
    let resource = null;
    const patch = (lines) =>
      fetch(resource, {
        method: 'PATCH',
        headers: {
          'content-type': 'application/trickle-ice-sdpfrag',
          authorization: `Bearer ${token}`,
        },
        body: lines.join('\r\n') + '\r\n',
      });
    pc.addEventListener('icecandidate', (e) => {
      if (!e.candidate || !e.candidate.candidate) return;
      const lines = [`a=mid:${e.candidate.sdpMid}`, `a=${e.candidate.candidate}`];
      if (resource) void patch(lines);
      else pending.push(lines);
    });
    await pc.setLocalDescription(await pc.createOffer());
    const query = quality ? `?quality=${quality}` : '';
    const res = await fetch(`/api/live/${streamId}/whep${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: pc.localDescription.sdp,
    });
    if (res.status !== 201) throw new Error(`WHEP ${res.status}: ${await res.text()}`);
    resource = res.headers.get('location');
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    for (const lines of pending.splice(0)) void patch(lines);
    state.resource = resource;
    state.token = token;
    w.viewers.push(state);
    return w.viewers.length - 1;
  };

  w.watchSocket = async (streamId, token, quality) => {
    const startedAt = performance.now();
    const socket = await connectSocket(token);
    await ack(socket, 'join_live', { streamId });
    const pc = new RTCPeerConnection();
    const state = attachVideo(pc, startedAt);
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate)
        void socket.timeout(5000).emitWithAck('live_ice_candidate', {
          streamId,
          role: 'watch',
          candidate: e.candidate.toJSON(),
        });
    });
    const res = await ack(socket, 'live_offer', quality ? { streamId, quality } : { streamId });
    await pc.setRemoteDescription(res.description);
    await pc.setLocalDescription(await pc.createAnswer());
    await ack(socket, 'live_answer', {
      streamId,
      description: { type: 'answer', sdp: pc.localDescription.sdp },
    });
    state.socket = socket;
    state.streamId = streamId;
    w.viewers.push(state);
    return w.viewers.length - 1;
  };

  w.viewerStats = async (index) => {
    const viewer = w.viewers[index];
    let framesDecoded = 0;
    let frameWidth = 0;
    let frameHeight = 0;
    let packetsReceived = 0;
    let keyFramesDecoded = 0;
    let pliCount = 0;
    let nackCount = 0;
    (await viewer.pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        framesDecoded = r.framesDecoded ?? 0;
        frameWidth = r.frameWidth ?? 0;
        frameHeight = r.frameHeight ?? 0;
        packetsReceived = r.packetsReceived ?? 0;
        keyFramesDecoded = r.keyFramesDecoded ?? 0;
        pliCount = r.pliCount ?? 0;
        nackCount = r.nackCount ?? 0;
      }
    });
    return {
      connectionState: viewer.pc.connectionState,
      packetsReceived,
      keyFramesDecoded,
      pliCount,
      nackCount,
      framesDecoded,
      frameWidth,
      frameHeight,
      videoWidth: viewer.video.videoWidth,
      firstFrameMs: viewer.firstFrameMs,
    };
  };

  /** The viewer's ICE view: its candidates, the server's, and the state of each pair. */
  w.viewerIce = async (index) => {
    const viewer = w.viewers[index];
    const out = {
      iceConnectionState: viewer.pc.iceConnectionState,
      local: [],
      remote: [],
      pairs: [],
    };
    (await viewer.pc.getStats()).forEach((r) => {
      if (r.type === 'local-candidate') out.local.push(`${r.address}:${r.port} ${r.candidateType}`);
      if (r.type === 'remote-candidate')
        out.remote.push(`${r.address}:${r.port} ${r.candidateType}`);
      if (r.type === 'candidate-pair')
        out.pairs.push(
          `${r.state} req=${r.requestsSent} res=${r.responsesReceived} in=${r.requestsReceived}`,
        );
    });
    return out;
  };

  /**
   * As the web app's broadcaster does: hears the stream's layers and pauses each video section
   * (layer, lowest first) nobody needs, resuming it when it is needed again.
   */
  w.followLayers = async (streamId, token) => {
    const socket = await connectSocket(token);
    await ack(socket, 'join_live', { streamId });
    socket.on('live_layers', async ({ layers }) => {
      const senders = w.publisher
        .getTransceivers()
        .filter((t) => t.sender.track?.kind === 'video')
        .map((t) => t.sender);
      for (const [i, layer] of layers.entries()) {
        const sender = senders[i];
        if (!sender) continue;
        const params = sender.getParameters();
        if (params.encodings[0] && params.encodings[0].active !== layer.needed) {
          params.encodings[0].active = layer.needed;
          await sender.setParameters(params).catch(() => undefined);
        }
      }
    });
  };
  /** The publisher's bandwidth estimate (bit/s): what the server's REMB lets it send. */
  w.publisherBandwidth = async () => {
    let bps = 0;
    (await w.publisher.getStats()).forEach((r) => {
      if (r.type === 'candidate-pair' && r.nominated && r.availableOutgoingBitrate)
        bps = r.availableOutgoingBitrate;
    });
    return bps;
  };
  /** Ends a WHEP viewer's session as a WHEP player does (DELETE on its resource). */
  w.stopWhep = async (index) => {
    const viewer = w.viewers[index];
    viewer.pc.close();
    await fetch(viewer.resource, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${viewer.token}` },
    });
  };
  /** A socket viewer's quality choice, applied to its session at once. */
  w.chooseQuality = async (index, quality) => {
    const viewer = w.viewers[index];
    await ack(viewer.socket, 'live_quality', { streamId: viewer.streamId, quality });
  };
  /** The publisher's outbound video per section (mid): bytes, size and keyframes of each layer. */
  w.publisherLayers = async () => {
    const out = {};
    (await w.publisher.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video')
        out[r.mid ?? r.rid ?? '-'] = {
          bytesSent: r.bytesSent,
          frameHeight: r.frameHeight ?? 0,
          keyFramesEncoded: r.keyFramesEncoded ?? 0,
          active: r.active,
          qualityLimitationReason: r.qualityLimitationReason,
          timestamp: r.timestamp,
        };
    });
    return out;
  };
  w.publisherStats = async () => {
    let out = {};
    (await w.publisher.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        out = {
          bytesSent: r.bytesSent,
          timestamp: r.timestamp,
          frameWidth: r.frameWidth,
          frameHeight: r.frameHeight,
          targetBitrate: r.targetBitrate,
          keyFramesEncoded: r.keyFramesEncoded,
          pliCount: r.pliCount,
          packetsSent: r.packetsSent,
          connectionState: w.publisher.connectionState,
        };
      }
    });
    return out;
  };
})();
