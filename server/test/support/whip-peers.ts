/** WHIP publishers and WHEP viewers over HTTP, as OBS and WHEP players reach a node. */
import type { StreamKeyInfo } from '@onair/protocol';
import { expect } from 'vitest';
import {
  connected,
  FixturePublisher,
  RecordingViewer,
  SyntheticPublisher,
  waitFor,
} from './loopback-peers';
import { api, type TestUser } from './server';

/** What a test closes when it ends, last first. */
export type Cleanup = (() => Promise<unknown> | unknown)[];

/** The host's persistent stream key (OBS's). */
export async function keyOf(server: { url: string }, user: TestUser): Promise<string> {
  const res = await api(server.url)<StreamKeyInfo>('GET', '/api/me/stream-key', {
    token: user.token,
  });
  expect(res.status).toBe(200);
  return res.body.streamKey;
}

/** A WHIP request: an SDP offer POSTed to `url` with a stream key. */
const postOffer = (url: string, key: string, offer: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
    body: offer,
  });

/** OBS's request: an offer to the one WHIP URL with the host's persistent key. */
export const whip = (server: { url: string }, key: string, offer: string) =>
  postOffer(`${server.url}/api/live/whip`, key, offer);

/**
 * The recorded 720p VP8 + Opus fixture published to one stream over WHIP, connected and
 * sending; `location` is its WHIP session's URL.
 */
export async function publishFixture(
  server: { url: string },
  streamId: string,
  key: string,
  cleanup: Cleanup,
): Promise<{ publisher: FixturePublisher; location: string }> {
  const publisher = new FixturePublisher();
  cleanup.push(() => publisher.close());
  const res = await postOffer(
    `${server.url}/api/live/${streamId}/whip`,
    key,
    await publisher.offer(),
  );
  expect(res.status).toBe(201);
  const location = new URL(res.headers.get('location') ?? '', server.url).href;
  await publisher.accept(await res.text());
  publisher.start();
  return { publisher, location };
}

/** A werift publisher that POSTs to `server` with `key`; connected and sending on a 201. */
export async function publishWithKey(server: { url: string }, key: string, cleanup: Cleanup) {
  const publisher = new SyntheticPublisher();
  cleanup.push(() => publisher.close());
  const res = await whip(server, key, await publisher.offer());
  const body = await res.text();
  if (res.status !== 201) return { status: res.status, body, publisher };
  const location = res.headers.get('location') ?? '';
  await publisher.accept(body);
  publisher.start();
  return { status: 201, body, publisher, streamId: location.split('/')[3]!, location };
}

/** A WHEP viewer of `streamId` on `server`, connected. */
export async function watchOverWhep(
  server: { url: string },
  streamId: string,
  token: string,
  cleanup: Cleanup,
): Promise<RecordingViewer> {
  const viewer = new RecordingViewer();
  cleanup.push(() => viewer.close());
  const res = await fetch(`${server.url}/api/live/${streamId}/whep`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
    body: await viewer.offer(),
  });
  expect(res.status).toBe(201);
  await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  await connected(viewer.pc);
  return viewer;
}

/** Resolves once `viewer` has received 20 more video packets; fails after 10 s. */
export async function videoFlowing(viewer: RecordingViewer, what: string): Promise<void> {
  const before = viewer.received('video');
  await waitFor(() => viewer.received('video') > before + 20, 10_000, what);
}
