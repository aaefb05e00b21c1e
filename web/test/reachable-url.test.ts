import { describe, expect, it } from 'vitest';
import { isLoopback, reachableUrl } from '../src/features/obs/reachable-url';

const page = (origin: string) => ({ origin, hostname: new URL(origin).hostname });

describe('the WHIP URL shown for OBS', () => {
  it('keeps the server URL when PUBLIC_URL made it public', () => {
    const url = 'https://live.example.com/api/live/whip';
    expect(reachableUrl(url, page('https://live.example.com'))).toBe(url);
    expect(reachableUrl(url, page('http://localhost:5173'))).toBe(url);
  });

  it('shows the page origin instead of a loopback address the page is not on', () => {
    for (const server of ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000'])
      expect(reachableUrl(`${server}/api/live/whip`, page('http://192.168.1.20:3000'))).toBe(
        'http://192.168.1.20:3000/api/live/whip',
      );
    expect(
      reachableUrl('http://localhost:3000/api/live/whip', page('https://stream.example.org')),
    ).toBe('https://stream.example.org/api/live/whip');
  });

  it('keeps a loopback URL for a page on loopback (OBS on the same machine)', () => {
    const url = 'http://localhost:3000/api/live/whip';
    expect(reachableUrl(url, page('http://localhost:5173'))).toBe(url);
    expect(reachableUrl(url, page('http://127.0.0.1:3000'))).toBe(url);
  });

  it('knows loopback names', () => {
    expect(
      ['localhost', 'app.localhost', '127.0.0.1', '127.1.2.3', '[::1]'].map(isLoopback),
    ).toEqual([true, true, true, true, true]);
    expect(
      ['example.com', '10.0.0.1', '128.0.0.1', 'localhost.example.com'].map(isLoopback),
    ).toEqual([false, false, false, false]);
  });
});
