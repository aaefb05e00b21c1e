/**
 * The layers the broadcaster sends (issue 19): the server forwards to each viewer the one their
 * network carries. Each layer is a video section of its own, the same camera track in each: the
 * server's WebRTC stack cannot tell apart RID layers sharing one section beside an audio one.
 */
import type { StreamLayer } from '@onair/protocol';

/** An encoding as the browser takes it (TypeScript's DOM types lack `scalabilityMode`). */
export type LayerEncoding = RTCRtpEncodingParameters & { scalabilityMode?: string };

/** Each layer's own three temporal layers let the server drop frames for the slowest viewers. */
const temporalLayers = 'L1T3';

/** At most this much on the top layer (about what a 720p30 camera needs). */
const topBitrate = 2_500_000;

/**
 * The one encoding of each video section for a camera of `width`×`height`, lowest first: the
 * order the sections are added in, and the order the server lists layers in. Sizes refer to the
 * shorter side, so an upright phone's 720×1280 counts as 720p: 540 and up gives 1/4, 1/2 and
 * full size; 360 to 539 gives 1/2 and full, since a quarter of 360 is too small to watch; below
 * 360 one section. A camera not open yet counts as the 720p the app asks for.
 */
export function layerEncodings(width: number, height: number): LayerEncoding[] {
  const side = Math.min(width, height);
  const layer = (scale: number, maxBitrate: number): LayerEncoding => ({
    scaleResolutionDownBy: scale,
    maxBitrate,
    scalabilityMode: temporalLayers,
  });
  if (side >= 540) return [layer(4, 200_000), layer(2, 700_000), layer(1, topBitrate)];
  if (side >= 360) return [layer(2, 200_000), layer(1, topBitrate)];
  return [{ scalabilityMode: temporalLayers }];
}

/** The same encoding for a browser that refuses `scalabilityMode`: it picks its own. */
export function withoutScalabilityMode(encoding: LayerEncoding): RTCRtpEncodingParameters {
  const rest: LayerEncoding = { ...encoding };
  delete rest.scalabilityMode;
  return rest;
}

/** The size a video track sends at, or the app's 1280×720 request while it has none. */
export function trackSize(track: MediaStreamTrack | undefined): { width: number; height: number } {
  const { width, height } = track?.getSettings() ?? {};
  return width && height ? { width, height } : { width: 1280, height: 720 };
}

/** A video section to pause (`active: false`) or resume, by its place among the sections. */
export interface SectionChange {
  section: number;
  active: boolean;
}

/**
 * What to change so that the sections follow the server's `live_layers`: layer i (lowest first)
 * is section i, sent only while someone needs it. A section the report does not name (the server
 * counted fewer layers) is sent, since only the server's word may stop a layer.
 */
export function sectionChanges(
  layers: readonly Pick<StreamLayer, 'needed'>[],
  active: readonly boolean[],
): SectionChange[] {
  const changes: SectionChange[] = [];
  active.forEach((isActive, section) => {
    const wanted = layers[section]?.needed ?? true;
    if (wanted !== isActive) changes.push({ section, active: wanted });
  });
  return changes;
}
