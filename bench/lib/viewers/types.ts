import type { QualityChoice } from '@onair/protocol';

/** Which client stands in for a viewer in the load generator. */
export type ViewerType = 'node-datachannel' | 'werift';
export const viewerTypes: ViewerType[] = ['node-datachannel', 'werift'];

export interface WhepTarget {
  baseUrl: string;
  streamId: string;
  token: string;
  /** `?quality=` on the WHEP URL (which simulcast layer); absent: the server's default. */
  quality?: QualityChoice;
}

/** The WHEP URL of a target, with its quality when it has one. */
export const whepUrl = (target: WhepTarget): string =>
  `${target.baseUrl}/api/live/${target.streamId}/whep${target.quality ? `?quality=${target.quality}` : ''}`;

/** What a viewer counted since its last take. */
export interface ViewerCounts {
  received: number;
  expected: number;
  /** RTP streams (SSRCs) heard from: 2 when both audio and video arrived. */
  streams: number;
}

/** What a load generator's viewers of one quality counted in a window. */
export interface QualityCounts {
  viewers: number;
  received: number;
  expected: number;
  /** Viewers that heard from fewer than two streams (audio and video) in the window. */
  silent: number;
}

/** A receive-only WHEP viewer that counts the RTP packets it gets. */
export interface CountingViewer {
  /** Offers, posts to WHEP and waits until connected. */
  join(): Promise<void>;
  /** Packets received and expected, and streams heard from, since the last take. */
  take(): ViewerCounts;
  /** DELETEs the WHEP resource (when `withDelete`) and closes the connection. */
  close(withDelete?: boolean): Promise<void>;
}

/** POSTs an offer to WHEP; returns the answer and the resource URL. */
export async function postWhep(
  target: WhepTarget,
  offer: string,
): Promise<{ answer: string; resource: string }> {
  const res = await fetch(whepUrl(target), {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${target.token}` },
    body: offer,
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`WHEP ${res.status} ${text}`);
  const location = res.headers.get('location') ?? '';
  return { answer: text, resource: location && new URL(location, target.baseUrl).toString() };
}

export async function deleteWhep(target: WhepTarget, resource: string): Promise<void> {
  if (!resource) return;
  const res = await fetch(resource, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${target.token}` },
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`DELETE ${resource}: ${res.status}`);
}
