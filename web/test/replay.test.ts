import type { StreamRecording } from '@onair/protocol';
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../src/features/live/format';
import { mediaTimeOf, replayStateOf } from '../src/features/replay/replay';

const startedAt = '2026-01-01T10:00:00.000Z';
const recording = (over: Partial<StreamRecording>): StreamRecording => ({
  status: 'ready',
  durationSeconds: 60,
  url: '/api/live/s/hls/index.m3u8',
  downloadUrl: null,
  bytes: 0,
  error: null,
  timeline: [],
  ...over,
});

describe('where a comment falls in a replay', () => {
  it('counts from the stream start when the recording has no parts', () => {
    expect(mediaTimeOf('2026-01-01T10:00:12.500Z', [], startedAt)).toBe(12.5);
  });

  it('uses the last part begun before the comment', () => {
    const timeline = [
      { at: 0, wallClock: '2026-01-01T10:00:02.000Z' },
      // The publisher came back 30 s later: 20 s of media were written before.
      { at: 20, wallClock: '2026-01-01T10:00:52.000Z' },
    ];
    expect(mediaTimeOf('2026-01-01T10:00:12.000Z', timeline, startedAt)).toBe(10);
    expect(mediaTimeOf('2026-01-01T10:00:55.000Z', timeline, startedAt)).toBe(23);
  });

  it('puts a comment made before the recording began at its start', () => {
    const timeline = [{ at: 0, wallClock: '2026-01-01T10:00:05.000Z' }];
    expect(mediaTimeOf('2026-01-01T10:00:01.000Z', timeline, startedAt)).toBeLessThan(0);
  });
});

describe('what an ended stream shows of its recording', () => {
  it('plays a ready recording, or what a failed one wrote', () => {
    expect(replayStateOf(recording({}))).toBe('playable');
    expect(replayStateOf(recording({ status: 'failed', error: 'Disk full' }))).toBe('playable');
    expect(replayStateOf(recording({ status: 'failed', url: null }))).toBe('none');
  });

  it('waits while the recording is closed, and shows the end without one', () => {
    expect(replayStateOf(recording({ status: 'processing', url: null }))).toBe('preparing');
    expect(replayStateOf(null)).toBe('none');
  });
});

describe('disk space', () => {
  it('reads in the largest unit under a thousand', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(4_200_000)).toBe('4.2 MB');
    expect(formatBytes(123_000_000)).toBe('123 MB');
    expect(formatBytes(1_300_000_000)).toBe('1.3 GB');
  });
});
