/**
 * Page-side WHEP players for the first-frame scenario, added to a page with addScriptTag (kept as
 * text: functions handed to page.evaluate would carry the TypeScript loader's helpers along).
 *
 * `benchWatchWhep(streamId, token, trickle)` starts a receive-only player and returns its index:
 *  - trickle: POSTs the offer at once and sends its candidates afterwards with PATCH (RFC 8840);
 *  - non-trickle: waits for its own ICE gathering to complete and POSTs an offer that carries
 *    every candidate, as OBS and many players do.
 * `benchWhepState(index)` reports first decoded frame measured from the POST and from the start,
 * the gathering wait, and any error; `benchWhepStop(index)` DELETEs the resource and closes.
 */
export const whepPageScript = String.raw`(() => {
  const w = window;
  w.benchWhepViewers = [];

  const gatheringComplete = (pc, ms) =>
    new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve(true);
      const timer = setTimeout(() => resolve(false), ms);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });

  const play = async (state, streamId, token, trickle) => {
    const pc = state.pc;
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
    state.video = video;
    const media = new MediaStream();
    video.srcObject = media;
    pc.addEventListener('track', (event) => {
      media.addTrack(event.track);
      if (event.track.kind !== 'video') return;
      video.play().catch(() => undefined);
      const onFrame = () => {
        if (state.firstFrameAt < 0) state.firstFrameAt = performance.now();
      };
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(onFrame);
      else video.addEventListener('loadeddata', onFrame, { once: true });
    });

    const pending = [];
    let resource = null;
    const patch = (lines) =>
      fetch(resource, {
        method: 'PATCH',
        headers: {
          'content-type': 'application/trickle-ice-sdpfrag',
          authorization: 'Bearer ' + token,
        },
        body: lines.join('\r\n') + '\r\n',
      });
    if (trickle) {
      pc.addEventListener('icecandidate', (e) => {
        if (!e.candidate || !e.candidate.candidate) return;
        const lines = ['a=mid:' + e.candidate.sdpMid, 'a=' + e.candidate.candidate];
        if (resource) void patch(lines);
        else pending.push(lines);
      });
    }
    await pc.setLocalDescription(await pc.createOffer());
    if (!trickle) {
      state.gatheringComplete = await gatheringComplete(pc, 5000);
      state.gatheredAt = performance.now();
    }
    state.postAt = performance.now();
    const res = await fetch('/api/live/' + streamId + '/whep', {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer ' + token },
      body: pc.localDescription.sdp,
    });
    if (res.status !== 201) throw new Error('WHEP ' + res.status + ': ' + (await res.text()));
    resource = res.headers.get('location');
    state.resource = resource;
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    for (const lines of pending.splice(0)) void patch(lines);
  };

  w.benchWatchWhep = (streamId, token, trickle) => {
    const state = {
      pc: new RTCPeerConnection(),
      token,
      resource: null,
      startedAt: performance.now(),
      postAt: -1,
      gatheredAt: -1,
      gatheringComplete: null,
      firstFrameAt: -1,
      error: null,
    };
    w.benchWhepViewers.push(state);
    play(state, streamId, token, trickle).catch((error) => {
      state.error = String(error);
    });
    return w.benchWhepViewers.length - 1;
  };

  /** Ends the session as a player should: DELETE the WHEP resource, then close. */
  w.benchWhepStop = async (index) => {
    const s = w.benchWhepViewers[index];
    if (!s) return;
    if (s.resource)
      await fetch(s.resource, {
        method: 'DELETE',
        headers: { authorization: 'Bearer ' + s.token },
      }).catch(() => undefined);
    s.pc.close();
  };

  w.benchWhepState = (index) => {
    const s = w.benchWhepViewers[index];
    const done = s.firstFrameAt >= 0;
    return {
      fromPostMs: done && s.postAt >= 0 ? s.firstFrameAt - s.postAt : -1,
      fromStartMs: done ? s.firstFrameAt - s.startedAt : -1,
      gatheringMs: s.gatheredAt >= 0 ? s.gatheredAt - s.startedAt : -1,
      gatheringComplete: s.gatheringComplete,
      error: s.error,
    };
  };
})();
`;
