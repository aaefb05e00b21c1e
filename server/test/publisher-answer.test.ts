import { describe, expect, it } from 'vitest';
import { receiveOnlyVideoAnswer } from '../src/media/publisher-sdp';
import { decodeDemand, encodeDemand } from '../src/media/StreamRelay';

/** libdatachannel's answer for a video section answered by a pre-added send-receive track. */
const answer = [
  'v=0',
  'o=rtc 1 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1 2',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:0',
  'a=recvonly',
  'a=rtpmap:111 opus/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:1',
  'a=sendrecv',
  'a=ssrc:1234 cname:x',
  'a=ssrc:1234 msid:x y',
  'a=msid:x y',
  'a=rid:q send',
  'a=simulcast:send q;h;f',
  'a=rtpmap:96 VP8/90000',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:2',
  'a=sendrecv',
  'a=ssrc:5678 cname:x',
  'a=rtpmap:96 VP8/90000',
  '',
].join('\r\n');

describe("the server's answer to a publisher", () => {
  it('makes one video section receive-only with no SSRC of ours and no simulcast (RFC 8853 §5.3)', () => {
    const out = receiveOnlyVideoAnswer(answer, '1');
    const section = out.split('m=video')[1] ?? '';
    expect(section).toContain('a=recvonly');
    expect(section).not.toMatch(/a=sendrecv|a=ssrc|a=msid|a=rid|a=simulcast/);
    expect(section).toContain('a=rtpmap:96 VP8/90000');
    // The other sections are left as they were.
    expect(out.split('m=video')[2]).toContain('a=sendrecv');
    expect(out.split('m=video')[2]).toContain('a=ssrc:5678');
    expect(out).toContain('m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly');
  });
});

describe('layer demand between workers and nodes', () => {
  it('round-trips what a worker needs, none included', () => {
    const demand = { wanted: 1, viewers: [3, 0, 70_000] };
    expect(decodeDemand(encodeDemand(demand))).toEqual({ wanted: 1, viewers: [3, 0, 65_535] });
    expect(decodeDemand(encodeDemand({ wanted: -1, viewers: [] }))).toEqual({
      wanted: -1,
      viewers: [],
    });
  });

  it('refuses a malformed body', () => {
    expect(decodeDemand(Buffer.alloc(0))).toBeUndefined();
    expect(decodeDemand(Buffer.alloc(2))).toBeUndefined();
    expect(decodeDemand(Buffer.alloc(41))).toBeUndefined();
  });
});
