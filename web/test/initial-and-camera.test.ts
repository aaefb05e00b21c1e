/**
 * Issue 18: emoji display names showed "�" avatars (half a surrogate pair), and a phone's
 * portrait camera was asked for landscape frames.
 */
import { describe, expect, it } from 'vitest';
import { initialOf } from '../src/lib/initial';
import { videoConstraints } from '../src/lib/media-devices';

describe('letter avatars', () => {
  it.each([
    ['anna', 'A'],
    ['  élodie', 'É'],
    ['🎸 Guitar', '🎸'],
    ['👩‍👩‍👧 Family', '👩‍👩‍👧'],
    ['🇫🇷 Paris', '🇫🇷'],
    ['👍🏽 ok', '👍🏽'],
    ['e\u0301cole', 'E\u0301'],
    ['   ', '?'],
  ])('%j starts with %j, whole', (name, initial) => {
    expect(initialOf(name)).toBe(initial);
    expect(initialOf(name)).not.toContain('\uFFFD');
  });
});

describe('camera constraints', () => {
  it('asks an upright phone for portrait frames and anything else for landscape, never forcing either', () => {
    const portrait = videoConstraints('cam', true);
    expect(portrait).toMatchObject({ width: { ideal: 720 }, height: { ideal: 1280 } });
    expect(videoConstraints(null, false)).toMatchObject({
      width: { ideal: 1280 },
      height: { ideal: 720 },
    });
    for (const constraints of [portrait, videoConstraints(null, false)]) {
      expect(constraints).not.toHaveProperty('aspectRatio');
      expect(constraints.width).not.toHaveProperty('exact');
      expect(constraints.height).not.toHaveProperty('exact');
    }
    expect(portrait.deviceId).toEqual({ ideal: 'cam' });
  });
});
