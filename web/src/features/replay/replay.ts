import type { StreamRecording } from '@onair/protocol';

/** What the stream page can show of a recording: its replay, a wait for it, or nothing. */
export type ReplayState = 'playable' | 'preparing' | 'none';

export function replayStateOf(recording: StreamRecording | null): ReplayState {
  if (!recording) return 'none';
  // A failed recording still plays what was written before the failure, when anything was.
  if (recording.status === 'ready' || recording.status === 'failed')
    return recording.url ? 'playable' : 'none';
  return 'preparing';
}

/**
 * Where in the replay something said at wall time `at` falls, in seconds of media: the recording
 * is made of parts (a publisher that reconnected starts a new one), each beginning at a known wall
 * time; the moment belongs to the last part begun by then. Without parts the recording is taken
 * to begin when the stream started. Before the first part it is negative (shown from the start).
 */
export function mediaTimeOf(
  at: string,
  timeline: StreamRecording['timeline'],
  startedAt: string,
): number {
  const wall = Date.parse(at);
  const parts = timeline.map((part) => ({ at: part.at, wallClock: Date.parse(part.wallClock) }));
  const part = parts.filter((p) => p.wallClock <= wall).at(-1) ??
    parts[0] ?? { at: 0, wallClock: Date.parse(startedAt) };
  return part.at + (wall - part.wallClock) / 1000;
}
