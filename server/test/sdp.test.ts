/**
 * Reading and trimming session descriptions (server/src/media/sdp.ts) on the offers publishers
 * and viewers really send: Chromium's (VP8 first, H.264 in several profiles and packetization
 * modes, RTX, RED, transport-cc) and OBS's WHIP offer (H.264 only).
 */
import { describe, expect, it } from 'vitest';
import { MediaError } from '../src/media/MediaError';
import {
  announceAddress,
  assertSdpOffer,
  choosePublisherFormat,
  matchViewerFormat,
  offererAsDtlsClient,
  parseMedia,
  restrictOffer,
  type SdpMedia,
} from '../src/media/sdp';

const sdp = (...lines: string[]): string => lines.join('\r\n') + '\r\n';

const transport = [
  'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:Kq3v',
  'a=ice-pwd:9cYbVg0mXq8mJmYkW0v5xkVd',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 5B:0E:73:3D:76:1D:9A:2E:43:7F:AA:93:9C:4E:05:2A:E6:A8:DE:2B:40:38:52:0F:6A:4C:2B:93:41:1F:E1:6B',
  'a=setup:actpass',
];

/** Chromium's offer for a camera and microphone (`sendonly` transceivers), trimmed of no codec. */
const chromiumOffer = sdp(
  'v=0',
  'o=- 2890118826403162215 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
  ...transport,
  'a=mid:0',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendonly',
  'a=msid:- 0f3c2a4e-2f7b-4b8e-9d3a-7b1c6a2d9e01',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:13 CN/8000',
  'a=rtpmap:110 telephone-event/48000',
  'a=rtpmap:126 telephone-event/8000',
  'a=ssrc:3735928559 cname:Vn0cVvJ9yQ7hVb1T',
  'a=ssrc:3735928559 msid:- 0f3c2a4e-2f7b-4b8e-9d3a-7b1c6a2d9e01',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 112 113 98 99 45 46 116 117 118',
  ...transport,
  'a=mid:1',
  'a=extmap:14 urn:ietf:params:rtp-hdrext:toffset',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:13 urn:3gpp:video-orientation',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
  'a=extmap:6 http://www.webrtc.org/experiments/rtp-hdrext/video-content-type',
  'a=extmap:7 http://www.webrtc.org/experiments/rtp-hdrext/video-timing',
  'a=extmap:8 http://www.webrtc.org/experiments/rtp-hdrext/color-space',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'a=sendonly',
  'a=msid:- 5d8e1f0a-6c2b-4e7d-8a9f-1b2c3d4e5f60',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 goog-remb',
  'a=rtcp-fb:96 transport-cc',
  'a=rtcp-fb:96 ccm fir',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:102 H264/90000',
  'a=rtcp-fb:102 goog-remb',
  'a=rtcp-fb:102 transport-cc',
  'a=rtcp-fb:102 ccm fir',
  'a=rtcp-fb:102 nack',
  'a=rtcp-fb:102 nack pli',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:103 rtx/90000',
  'a=fmtp:103 apt=102',
  'a=rtpmap:104 H264/90000',
  'a=rtcp-fb:104 goog-remb',
  'a=rtcp-fb:104 transport-cc',
  'a=rtcp-fb:104 nack pli',
  'a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
  'a=rtpmap:105 rtx/90000',
  'a=fmtp:105 apt=104',
  'a=rtpmap:106 H264/90000',
  'a=rtcp-fb:106 goog-remb',
  'a=rtcp-fb:106 transport-cc',
  'a=rtcp-fb:106 nack pli',
  'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:107 rtx/90000',
  'a=fmtp:107 apt=106',
  'a=rtpmap:108 H264/90000',
  'a=rtcp-fb:108 goog-remb',
  'a=rtcp-fb:108 transport-cc',
  'a=rtcp-fb:108 nack pli',
  'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
  'a=rtpmap:109 rtx/90000',
  'a=fmtp:109 apt=108',
  'a=rtpmap:112 H264/90000',
  'a=rtcp-fb:112 goog-remb',
  'a=rtcp-fb:112 transport-cc',
  'a=rtcp-fb:112 nack pli',
  'a=fmtp:112 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f',
  'a=rtpmap:113 rtx/90000',
  'a=fmtp:113 apt=112',
  'a=rtpmap:98 VP9/90000',
  'a=rtcp-fb:98 goog-remb',
  'a=rtcp-fb:98 transport-cc',
  'a=rtcp-fb:98 nack pli',
  'a=fmtp:98 profile-id=0',
  'a=rtpmap:99 rtx/90000',
  'a=fmtp:99 apt=98',
  'a=rtpmap:45 AV1/90000',
  'a=rtcp-fb:45 goog-remb',
  'a=rtcp-fb:45 transport-cc',
  'a=rtcp-fb:45 nack pli',
  'a=fmtp:45 level-idx=5;profile=0;tier=0',
  'a=rtpmap:46 rtx/90000',
  'a=fmtp:46 apt=45',
  'a=rtpmap:116 red/90000',
  'a=rtpmap:117 rtx/90000',
  'a=fmtp:117 apt=116',
  'a=rtpmap:118 ulpfec/90000',
  'a=ssrc-group:FID 2882400001 2882400002',
  'a=ssrc:2882400001 cname:Vn0cVvJ9yQ7hVb1T',
  'a=ssrc:2882400001 msid:- 5d8e1f0a-6c2b-4e7d-8a9f-1b2c3d4e5f60',
  'a=ssrc:2882400002 cname:Vn0cVvJ9yQ7hVb1T',
  'a=ssrc:2882400002 msid:- 5d8e1f0a-6c2b-4e7d-8a9f-1b2c3d4e5f60',
);

/** OBS's WHIP offer (libdatachannel inside OBS): Opus and H.264 constrained baseline only. */
const obsOffer = sdp(
  'v=0',
  'o=rtc 3420613713 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=group:LS 0 1',
  'a=msid-semantic:WMS *',
  'a=ice-options:ice2,trickle',
  'a=fingerprint:sha-256 0C:8B:70:C6:AF:83:5D:33:18:5C:DE:17:5E:F4:6B:98:9E:7A:4E:28:D3:5C:8E:3B:50:C2:1F:72:A9:1D:04:E7',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=ssrc:1150409425 cname:obs-audio',
  'a=msid:obs obs-audio',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1',
  'a=setup:actpass',
  'a=ice-ufrag:b0Lz',
  'a=ice-pwd:7Zo0NcrhHU1c5Nl8pRr0yA',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendonly',
  'a=ssrc:3409061823 cname:obs-video',
  'a=msid:obs obs-video',
  'a=rtcp-mux',
  'a=rtpmap:96 H264/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtcp-fb:96 goog-remb',
  'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
  'a=setup:actpass',
  'a=ice-ufrag:b0Lz',
  'a=ice-pwd:7Zo0NcrhHU1c5Nl8pRr0yA',
);

const section = (text: string, kind: 'audio' | 'video'): SdpMedia =>
  parseMedia(text).find((m) => m.kind === kind)!;

/** A viewer's video section offering these payload types, as `a=rtpmap`/`a=fmtp` pairs. */
const viewerVideo = (...formats: [number, string, string?][]): SdpMedia =>
  parseMedia(
    sdp(
      `m=video 9 UDP/TLS/RTP/SAVPF ${formats.map(([pt]) => pt).join(' ')}`,
      'a=mid:0',
      'a=recvonly',
      ...formats.flatMap(([pt, name, fmtp]) => [
        `a=rtpmap:${pt} ${name}/90000`,
        ...(fmtp ? [`a=fmtp:${pt} ${fmtp}`] : []),
      ]),
    ),
  )[0]!;

describe('parseMedia (RFC 8866 §5.14 m=, §6.6 rtpmap, §6.15 fmtp)', () => {
  it('reads each m-section’s kind, mid and formats in the order of its m-line', () => {
    const [audio, video] = parseMedia(chromiumOffer);
    expect(audio).toMatchObject({ kind: 'audio', mid: '0' });
    expect(audio!.formats.map((f) => f.payloadType)).toEqual([111, 63, 9, 0, 8, 13, 110, 126]);
    expect(audio!.formats[0]).toEqual({
      payloadType: 111,
      name: 'opus',
      clockRate: 48000,
      channels: 2,
      fmtp: 'minptime=10;useinbandfec=1',
    });
    expect(audio!.formats[3]).toEqual({ payloadType: 0, name: 'PCMU', clockRate: 8000 });
    expect(video).toMatchObject({ kind: 'video', mid: '1' });
    expect(video!.formats).toHaveLength(19);
    expect(video!.formats[0]).toEqual({ payloadType: 96, name: 'VP8', clockRate: 90000 });
    expect(video!.formats[1]).toEqual({
      payloadType: 97,
      name: 'rtx',
      clockRate: 90000,
      fmtp: 'apt=96',
    });
    expect(video!.formats.find((f) => f.payloadType === 104)?.fmtp).toBe(
      'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
    );
  });

  it('numbers sections without a mid by position, and reads bare-LF text', () => {
    const media = parseMedia(
      [
        'v=0',
        'm=audio 9 RTP/AVP 0',
        'a=rtpmap:0 PCMU/8000',
        'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
        'm=text 9 RTP/AVP 98',
        'a=rtpmap:99 t140/1000',
      ].join('\n'),
    );
    expect(media).toEqual([
      { kind: 'audio', mid: '0', formats: [{ payloadType: 0, name: 'PCMU', clockRate: 8000 }] },
      { kind: 'application', mid: '1', formats: [] },
      // rtpmap 99 names no format of the m-line, so 98 stays unnamed.
      { kind: 'other', mid: '2', formats: [{ payloadType: 98, name: '', clockRate: 0 }] },
    ]);
    expect(parseMedia('v=0\r\ns=-\r\n')).toEqual([]);
  });
});

describe('choosePublisherFormat', () => {
  it("takes Opus and, from a browser that lists VP8 first, H.264's constrained baseline (live HLS and replays need H.264)", () => {
    expect(choosePublisherFormat(section(chromiumOffer, 'audio'))?.payloadType).toBe(111);
    expect(choosePublisherFormat(section(chromiumOffer, 'video'))).toMatchObject({
      payloadType: 106,
      name: 'H264',
    });
    const vp8Only = viewerVideo([96, 'VP8']);
    expect(choosePublisherFormat(vp8Only)?.payloadType).toBe(96);
  });

  it('takes H.264 from OBS, and from any offer that lists it before VP8', () => {
    expect(choosePublisherFormat(section(obsOffer, 'video'))).toMatchObject({
      payloadType: 96,
      name: 'H264',
    });
    expect(choosePublisherFormat(section(obsOffer, 'audio'))?.fmtp).toContain('stereo=1');
    const h264First = viewerVideo(
      [102, 'H264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'],
      [96, 'VP8'],
    );
    expect(choosePublisherFormat(h264First)?.payloadType).toBe(102);
  });

  it('refuses H.264 packetization mode 0 (single NAL units, RFC 6184 §6.2), or without a mode', () => {
    const mode0 = [104, 'H264', 'packetization-mode=0;profile-level-id=42001f'] as [
      number,
      string,
      string,
    ];
    expect(choosePublisherFormat(viewerVideo(mode0))).toBeUndefined();
    expect(choosePublisherFormat(viewerVideo([100, 'H264', 'profile-level-id=42e01f']))).toBe(
      undefined,
    );
    expect(choosePublisherFormat(viewerVideo(mode0, [96, 'VP8']))?.payloadType).toBe(96);
    expect(
      choosePublisherFormat(
        viewerVideo(mode0, [106, 'H264', 'profile-level-id=42e01f;packetization-mode=1']),
      )?.payloadType,
    ).toBe(106);
  });

  it('takes nothing else: VP9 or AV1 alone, audio without Opus, data channels', () => {
    expect(choosePublisherFormat(viewerVideo([98, 'VP9', 'profile-id=0'], [45, 'AV1']))).toBe(
      undefined,
    );
    const [pcmu, data] = parseMedia(
      sdp('m=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'm=application 9 UDP/DTLS/SCTP x'),
    );
    expect(choosePublisherFormat(pcmu!)).toBeUndefined();
    expect(choosePublisherFormat(data!)).toBeUndefined();
  });
});

describe('matchViewerFormat', () => {
  // A Chromium viewer offers the same formats as a publisher, recvonly.
  const viewer = section(chromiumOffer.replace(/a=sendonly/g, 'a=recvonly'), 'video');

  it('finds the viewer’s payload type for VP8 and Opus, whatever the case of the name', () => {
    expect(matchViewerFormat(viewer, { name: 'VP8' })?.payloadType).toBe(96);
    expect(matchViewerFormat(viewer, { name: 'vp8' })?.payloadType).toBe(96);
    expect(matchViewerFormat(section(chromiumOffer, 'audio'), { name: 'OPUS' })?.payloadType).toBe(
      111,
    );
  });

  it('matches H.264 on profile (the first four hex digits of profile-level-id, RFC 6184 §8.1)', () => {
    const h264 = (fmtp: string) => matchViewerFormat(viewer, { name: 'H264', fmtp })?.payloadType;
    // OBS's constrained baseline 42e01f: 106, not 102 (42001f, baseline).
    expect(h264('profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1')).toBe(
      106,
    );
    // Level differs, profile the same: still 106.
    expect(h264('packetization-mode=1;profile-level-id=42E028')).toBe(106);
    expect(h264('packetization-mode=1;profile-level-id=640028')).toBe(112);
    expect(h264('packetization-mode=1;profile-level-id=42001f')).toBe(102);
    // Main profile, not offered: the first H.264 in mode 1.
    expect(h264('packetization-mode=1;profile-level-id=4d001f')).toBe(102);
  });

  it('never matches a viewer’s packetization mode 0, nor a codec it does not offer', () => {
    const mode0Only = viewerVideo(
      [104, 'H264', 'packetization-mode=0;profile-level-id=42e01f'],
      [96, 'VP8'],
    );
    expect(
      matchViewerFormat(mode0Only, { name: 'H264', fmtp: 'profile-level-id=42e01f' }),
    ).toBeUndefined();
    expect(matchViewerFormat(viewerVideo([96, 'VP8']), { name: 'H264' })).toBeUndefined();
    expect(matchViewerFormat(viewer, { name: 'H265' })).toBeUndefined();
  });
});

describe('restrictOffer', () => {
  const restricted = restrictOffer(
    chromiumOffer,
    new Map([
      ['0', 111],
      ['1', 96],
    ]),
  );
  const restrictedLines = restricted.split('\r\n');

  it('leaves each kept section one payload type, on its m-line and in its attributes', () => {
    expect(restrictedLines).toContain('m=audio 9 UDP/TLS/RTP/SAVPF 111');
    expect(restrictedLines).toContain('m=video 9 UDP/TLS/RTP/SAVPF 96');
    expect(restrictedLines.filter((l) => /^a=(rtpmap|fmtp|rtcp-fb):/.test(l))).toEqual([
      'a=rtpmap:111 opus/48000/2',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 goog-remb',
      'a=rtcp-fb:96 ccm fir',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
    ]);
    expect(parseMedia(restricted).map((m) => m.formats)).toEqual([
      [
        {
          payloadType: 111,
          name: 'opus',
          clockRate: 48000,
          channels: 2,
          fmtp: 'minptime=10;useinbandfec=1',
        },
      ],
      [{ payloadType: 96, name: 'VP8', clockRate: 90000 }],
    ]);
  });

  it('drops transport-cc feedback and its extension, and the RTX (FID) groups', () => {
    expect(restricted).not.toMatch(/transport-cc/);
    expect(restricted).not.toMatch(/transport-wide-cc/);
    expect(restricted).not.toMatch(/ssrc-group:FID/);
    // The rest stays: other extensions, the SSRCs, ICE, DTLS, the bundle.
    for (const line of [
      'a=group:BUNDLE 0 1',
      'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
      'a=ssrc:2882400001 cname:Vn0cVvJ9yQ7hVb1T',
      'a=ssrc:2882400002 cname:Vn0cVvJ9yQ7hVb1T',
      'a=setup:actpass',
      'a=ice-ufrag:Kq3v',
    ])
      expect(restrictedLines).toContain(line);
    expect(restricted.endsWith('\r\n')).toBe(true);
    expect(restricted).not.toMatch(/\r\n\r\n/);
  });

  it('keeps the payload list of a section it keeps nothing of, for the answer to refuse', () => {
    const videoOnly = restrictOffer(chromiumOffer, new Map([['1', 96]]));
    const audio = parseMedia(videoOnly)[0]!;
    expect(audio.formats.map((f) => f.payloadType)).toEqual([111, 63, 9, 0, 8, 13, 110, 126]);
    expect(audio.formats[0]?.fmtp).toBe('minptime=10;useinbandfec=1');
    expect(videoOnly).not.toMatch(/transport-cc/);
  });

  it('keeps H.264 with its fmtp from OBS', () => {
    const kept = restrictOffer(
      obsOffer,
      new Map([
        ['0', 111],
        ['1', 96],
      ]),
    );
    expect(parseMedia(kept)[1]?.formats).toEqual([
      {
        payloadType: 96,
        name: 'H264',
        clockRate: 90000,
        fmtp: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
      },
    ]);
    expect(kept.split('\r\n')).toContain('a=rtcp-fb:96 goog-remb');
  });
});

describe('announceAddress', () => {
  // libdatachannel's answer, bound to every interface.
  const answer = sdp(
    'v=0',
    'o=rtc 1 0 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    'm=video 50000 UDP/TLS/RTP/SAVPF 96',
    'c=IN IP4 0.0.0.0',
    'a=candidate:1 1 UDP 2122317823 10.0.0.5 50000 typ host',
    'a=candidate:2 1 UDP 1686052607 198.51.100.7 50000 typ srflx raddr 10.0.0.5 rport 50000',
    'a=end-of-candidates',
  );

  it('puts the announced address in host candidates and connection lines only', () => {
    const lines = announceAddress(answer, '203.0.113.9').split('\r\n');
    expect(lines).toContain('a=candidate:1 1 UDP 2122317823 203.0.113.9 50000 typ host');
    expect(lines).toContain(
      'a=candidate:2 1 UDP 1686052607 198.51.100.7 50000 typ srflx raddr 10.0.0.5 rport 50000',
    );
    expect(lines).toContain('c=IN IP4 203.0.113.9');
    // The origin line is no connection line.
    expect(lines).toContain('o=rtc 1 0 IN IP4 0.0.0.0');
  });

  it('writes IP6 for an IPv6 address, and changes nothing without one', () => {
    expect(announceAddress(answer, '2001:db8::9').split('\r\n')).toContain('c=IN IP6 2001:db8::9');
    expect(announceAddress(answer, undefined)).toBe(answer);
    expect(announceAddress(answer, '')).toBe(answer);
  });
});

describe('offererAsDtlsClient (RFC 8842 §5)', () => {
  it('turns every actpass into active, and leaves other roles alone', () => {
    const active = offererAsDtlsClient(chromiumOffer);
    expect(active.match(/^a=setup:active\r$/gm)).toHaveLength(2);
    expect(active).not.toMatch(/actpass/);
    expect(offererAsDtlsClient(sdp('a=setup:passive'))).toBe(sdp('a=setup:passive'));
  });
});

describe('assertSdpOffer', () => {
  it('accepts real offers and refuses what is no offer with media', () => {
    expect(() => assertSdpOffer(chromiumOffer)).not.toThrow();
    expect(() => assertSdpOffer(obsOffer)).not.toThrow();
    for (const text of [
      '',
      chromiumOffer.replace('v=0', 'v=1'),
      chromiumOffer.replace(/^a=fingerprint:.*$/gm, ''),
      sdp('v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', transport[5]!),
    ])
      expect(() => assertSdpOffer(text)).toThrow(MediaError);
  });
});
