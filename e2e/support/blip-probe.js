/*
 * Test-only instrumentation, injected before the web app loads (page.addInitScript). The app
 * itself carries no hook: the probe records the page's WebSockets so a test can close the
 * Socket.IO transport as a dropped connection would, records peer connections to check none
 * pile up, and counts the frames a <video> presents (requestVideoFrameCallback).
 */
(() => {
  const sockets = [];
  const peers = [];
  const frameTimes = [];

  /** While set, every new WebSocket fails at once: the network is down as far as the page knows. */
  let held = false;

  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      if (held) {
        this.close();
        return;
      }
      const entry = { ws: this, openedAt: null };
      sockets.push(entry);
      this.addEventListener('open', () => (entry.openedAt = Date.now()), { once: true });
    }
  };

  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      peers.push(this);
    }
  };

  let counting = false;
  let pendingOn = null;
  let armedAt = 0;
  let lastNow = -1;
  const countFrames = (selector) => {
    if (counting) return;
    counting = true;
    const arm = () => {
      const video = document.querySelector(selector);
      if (!video) return;
      // One callback pending per element; re-armed if the element changed or the callback has
      // not fired for a while (a new srcObject may drop it). Duplicates share a `now` and count once.
      if (pendingOn === video && Date.now() - armedAt < 1000) return;
      pendingOn = video;
      armedAt = Date.now();
      video.requestVideoFrameCallback((now) => {
        if (pendingOn === video) pendingOn = null;
        if (now !== lastNow) {
          lastNow = now;
          frameTimes.push(Date.now());
          if (frameTimes.length > 5000) frameTimes.splice(0, 1000);
        }
        arm();
      });
    };
    setInterval(arm, 100);
    arm();
  };

  window.blipProbe = {
    /** Closes every open WebSocket of the page; returns when, and how many. */
    dropSockets() {
      const at = Date.now();
      let closed = 0;
      for (const { ws } of sockets) {
        if (ws.readyState !== NativeWebSocket.OPEN) continue;
        ws.close();
        closed += 1;
      }
      return { at, closed };
    },
    /** Like `dropSockets`, and the page cannot connect again until `releaseSockets`. */
    holdSockets() {
      held = true;
      return window.blipProbe.dropSockets();
    },
    releaseSockets() {
      held = false;
    },
    /** When the first WebSocket opened at or after `since` opened, or null. */
    reopenedAt(since) {
      const times = sockets.map((s) => s.openedAt).filter((t) => t !== null && t >= since);
      return times.length ? Math.min(...times) : null;
    },
    openSockets: () => sockets.filter(({ ws }) => ws.readyState === NativeWebSocket.OPEN).length,
    openPeers: () => peers.filter((pc) => pc.connectionState !== 'closed').length,
    countFrames,
    /** Times (ms since the epoch) of the frames presented at or after `since`. */
    framesSince: (since) => frameTimes.filter((t) => t >= since),
  };
})();
