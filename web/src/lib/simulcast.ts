/**
 * The layers the broadcaster sends (issue 19): the server forwards to each viewer the one their
 * network carries, so the camera goes out at full, half and quarter size in one transceiver.
 */

/** An encoding as the browser takes it (TypeScript's DOM types lack `scalabilityMode`). */
export type LayerEncoding = RTCRtpEncodingParameters & { scalabilityMode?: string };

/** Each layer's own three temporal layers let the server drop frames for the slowest viewers. */
const temporalLayers = 'L1T3';

/** At most this much on the top layer (about what a 720p30 camera needs). */
const topBitrate = 2_500_000;

/**
 * RID encodings for a camera of `width`×`height`, lowest first (the order the server lists layers
 * in). Sizes refer to the shorter side, so an upright phone's 720×1280 counts as 720p:
 * 540 and up gives q (1/4), h (1/2) and f; 360 to 539 gives q (1/2) and f, since a quarter of
 * 360 is too small to watch; below 360 one encoding. A camera not open yet counts as the 720p
 * the app asks for.
 */
export function sendEncodings(width: number, height: number): LayerEncoding[] {
  const side = Math.min(width, height);
  const layer = (rid: string, scale: number, maxBitrate: number): LayerEncoding => ({
    rid,
    scaleResolutionDownBy: scale,
    maxBitrate,
    scalabilityMode: temporalLayers,
  });
  if (side >= 540)
    return [layer('q', 4, 200_000), layer('h', 2, 700_000), layer('f', 1, topBitrate)];
  if (side >= 360) return [layer('q', 2, 200_000), layer('f', 1, topBitrate)];
  return [{ scalabilityMode: temporalLayers }];
}

/** The same encodings for a browser that refuses `scalabilityMode`: it picks its own. */
export function withoutScalabilityMode(encodings: LayerEncoding[]): RTCRtpEncodingParameters[] {
  return encodings.map(({ scalabilityMode: _dropped, ...rest }) => rest);
}

/** The size a video track sends at, or the app's 1280×720 request while it has none. */
export function trackSize(track: MediaStreamTrack | undefined): { width: number; height: number } {
  const { width, height } = track?.getSettings() ?? {};
  return width && height ? { width, height } : { width: 1280, height: 720 };
}

/**
 * Whether an answer takes the offer's simulcast (RFC 8853 §5.3: the answerer reverses the
 * direction, `a=simulcast:recv`). A server that does not echoes the offer or leaves it out.
 */
export function answerReceivesSimulcast(sdp: string): boolean {
  return /^a=simulcast:recv /m.test(sdp);
}
