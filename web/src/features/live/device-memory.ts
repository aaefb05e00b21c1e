/**
 * What this device remembers about streams, beyond a page load. Storage may be unavailable
 * (private modes, a full quota): every read then finds nothing and every write is skipped.
 */

import { QUALITY_CHOICES, type QualityChoice } from '@onair/protocol';

const anonymousVisitsKey = 'onair.anonymousVisits';
const publishingKey = 'onair.publishing';
const joinNoticesKey = 'onair.joinNotices';
const qualityKey = 'onair.quality';
/** Streams whose anonymous visits are kept; the oldest go first. */
const streamsKept = 20;
/** Ids kept per stream (a visit per page load): as many as a signed-in join may name. */
const idsKept = 5;

function read<T>(storage: () => Storage, key: string, fallback: T): T {
  try {
    const raw = storage().getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

function write(storage: () => Storage, key: string, value: unknown): void {
  try {
    storage().setItem(key, JSON.stringify(value));
  } catch {
    // Nothing is lost that matters: the feature falls back to its default.
  }
}

const local = () => window.localStorage;
const session = () => window.sessionStorage;

type Visits = Record<string, string[]>;

/** Ids this device watched `streamId` under while signed out, newest last. */
export function anonymousVisits(streamId: string): string[] {
  const ids = read<Visits>(local, anonymousVisitsKey, {})[streamId];
  return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string').slice(-idsKept) : [];
}

export function rememberAnonymousVisit(streamId: string, anonymousId: string): void {
  const visits = Object.entries(read<Visits>(local, anonymousVisitsKey, {}));
  const ids = (visits.find(([id]) => id === streamId)?.[1] ?? []).filter(
    (id) => id !== anonymousId,
  );
  // This stream moves to the end: the streams visited longest ago are forgotten first.
  const kept = [
    ...visits.filter(([id]) => id !== streamId),
    [streamId, [...ids, anonymousId].slice(-idsKept)] as const,
  ].slice(-streamsKept);
  write(local, anonymousVisitsKey, Object.fromEntries(kept));
}

/**
 * The streams this tab went live with from the browser (its camera publishes them). Kept for the
 * tab only: a reload keeps publishing, while the host's other tabs and devices manage the stream
 * without touching their camera.
 */
export function isPublishingHere(streamId: string): boolean {
  return read<string[]>(session, publishingKey, []).includes(streamId);
}

export function markPublishingHere(streamId: string, publishing: boolean): void {
  const others = read<string[]>(session, publishingKey, []).filter((id) => id !== streamId);
  write(session, publishingKey, publishing ? [...others, streamId].slice(-5) : others);
}

/** Whether the host sees "X joined" lines in the chat (default on), per device. */
export function joinNoticesWanted(): boolean {
  return read<boolean>(local, joinNoticesKey, true) !== false;
}

export function setJoinNoticesWanted(wanted: boolean): void {
  write(local, joinNoticesKey, wanted);
}

/** The viewer's choice in the player's quality menu (default auto), per device. */
export function rememberedQuality(): QualityChoice {
  const stored = read<unknown>(local, qualityKey, 'auto');
  return QUALITY_CHOICES.find((choice) => choice === stored) ?? 'auto';
}

export function rememberQuality(quality: QualityChoice): void {
  write(local, qualityKey, quality);
}
