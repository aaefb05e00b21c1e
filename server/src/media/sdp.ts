import { MediaError } from './MediaError';
import type { MediaKind } from './codecs';

/** One payload format of an m-section (RFC 8866 §6.6 rtpmap, §6.15 fmtp). */
export interface SdpFormat {
  payloadType: number;
  /** Encoding name as written, e.g. `VP8`, `H264`, `opus`. */
  name: string;
  clockRate: number;
  channels?: number | undefined;
  fmtp?: string | undefined;
}

export interface SdpMedia {
  kind: MediaKind | 'application' | 'other';
  mid: string;
  /** In the order the m-line lists them: the offerer's preference. */
  formats: SdpFormat[];
}

/** Rejects what is not an SDP offer with media before the library sees it. */
export function assertSdpOffer(sdp: string): void {
  if (!sdp.startsWith('v=0') || !/^m=(audio|video) /m.test(sdp) || !/^a=fingerprint:/m.test(sdp)) {
    throw new MediaError('invalid_sdp', 'Not an SDP offer with audio or video');
  }
}

const lines = (sdp: string) => sdp.split(/\r?\n/).filter((line) => line.length > 0);

/** The m-sections of a description with their mids and formats. */
export function parseMedia(sdp: string): SdpMedia[] {
  const sections: SdpMedia[] = [];
  let current: (SdpMedia & { byPt: Map<number, SdpFormat> }) | undefined;
  for (const line of lines(sdp)) {
    if (line.startsWith('m=')) {
      const [kind = '', , , ...pts] = line.slice(2).split(' ');
      const byPt = new Map<number, SdpFormat>();
      const formats: SdpFormat[] = [];
      for (const pt of pts) {
        const payloadType = Number(pt);
        if (!Number.isInteger(payloadType)) continue;
        const format: SdpFormat = { payloadType, name: '', clockRate: 0 };
        byPt.set(payloadType, format);
        formats.push(format);
      }
      current = {
        kind: kind === 'audio' || kind === 'video' || kind === 'application' ? kind : 'other',
        mid: String(sections.length),
        formats,
        byPt,
      };
      sections.push(current);
      continue;
    }
    if (!current) continue;
    if (line.startsWith('a=mid:')) current.mid = line.slice(6).trim();
    const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\/(\d+)(?:\/(\d+))?/.exec(line);
    if (rtpmap) {
      const format = current.byPt.get(Number(rtpmap[1]));
      if (format) {
        format.name = rtpmap[2] ?? '';
        format.clockRate = Number(rtpmap[3]);
        if (rtpmap[4]) format.channels = Number(rtpmap[4]);
      }
    }
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp) {
      const format = current.byPt.get(Number(fmtp[1]));
      if (format) format.fmtp = fmtp[2];
    }
  }
  return sections.map(({ kind, mid, formats }) => ({ kind, mid, formats }));
}

const fmtpValue = (fmtp: string | undefined, key: string): string | undefined =>
  fmtp
    ?.split(';')
    .map((p) => p.trim().split('='))
    .find(([k]) => k?.toLowerCase() === key)?.[1];

/** H.264 we forward: packetization mode 1 (FU-A), what browsers and OBS send. */
const isForwardableH264 = (f: SdpFormat) =>
  f.name.toLowerCase() === 'h264' && fmtpValue(f.fmtp, 'packetization-mode') === '1';

/** Constrained baseline (RFC 6184 §8.1 profile-level-id 42e0..): what every decoder takes. */
const isConstrainedBaseline = (f: SdpFormat) =>
  fmtpValue(f.fmtp, 'profile-level-id')?.slice(0, 4).toLowerCase() === '42e0';

/**
 * The codec a publisher may send for one kind: Opus for audio; for video H.264 when the offer
 * has it (live HLS and replays need it: browsers' MSE plays H.264 in MP4, not VP8), constrained
 * baseline first, else VP8.
 */
export function choosePublisherFormat(media: SdpMedia): SdpFormat | undefined {
  if (media.kind === 'audio') return media.formats.find((f) => f.name.toLowerCase() === 'opus');
  if (media.kind !== 'video') return undefined;
  const h264 = media.formats.filter(isForwardableH264);
  return (
    h264.find(isConstrainedBaseline) ??
    h264[0] ??
    media.formats.find((f) => f.name.toLowerCase() === 'vp8')
  );
}

/** The viewer's payload type for the publisher's codec, or nothing when the viewer cannot take it. */
export function matchViewerFormat(
  media: SdpMedia,
  codec: { name: string; fmtp?: string | undefined },
): SdpFormat | undefined {
  const name = codec.name.toLowerCase();
  const same = media.formats.filter((f) => f.name.toLowerCase() === name);
  if (name !== 'h264') return same[0];
  const profile = fmtpValue(codec.fmtp, 'profile-level-id')?.slice(0, 4).toLowerCase();
  const usable = same.filter(isForwardableH264);
  return (
    usable.find(
      (f) => fmtpValue(f.fmtp, 'profile-level-id')?.slice(0, 4).toLowerCase() === profile,
    ) ?? usable[0]
  );
}

/**
 * The publisher's offer cut down to what the server will take, so that libdatachannel's answer
 * (which mirrors the offer) accepts exactly one codec per kind, no RTX, and no transport-wide
 * congestion control: libdatachannel answers transport-cc but never sends its feedback, and
 * Chrome's estimate then collapses; with REMB instead it holds its resolution.
 */
export function restrictOffer(sdp: string, keep: Map<string, number>): string {
  const out: string[] = [];
  let kept: number | undefined;
  let inMedia = false;
  for (const line of lines(sdp)) {
    if (line.startsWith('m=')) {
      inMedia = true;
      kept = undefined;
      out.push(line);
      continue;
    }
    if (inMedia && line.startsWith('a=mid:')) kept = keep.get(line.slice(6).trim());
    const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+|\*) /.exec(line)?.[1];
    if (pt !== undefined && kept !== undefined && pt !== '*' && Number(pt) !== kept) continue;
    if (/^a=rtcp-fb:\S+ transport-cc/.test(line)) continue;
    if (/^a=extmap:\d+\S* \S*transport-wide-cc/.test(line)) continue;
    if (line.startsWith('a=ssrc-group:FID')) continue;
    out.push(line);
  }
  // The m-lines list only the kept payload type; a section with none keeps its list (it is refused below).
  const sections = parseMedia(sdp);
  let index = -1;
  return (
    out
      .map((line) => {
        if (!line.startsWith('m=')) return line;
        index += 1;
        const pt = keep.get(sections[index]?.mid ?? '');
        if (pt === undefined) return line;
        const [head = '', port = '', proto = ''] = line.split(' ');
        return `${head} ${port} ${proto} ${pt}`;
      })
      .join('\r\n') + '\r\n'
  );
}

/**
 * Puts the announced address in place of the bound one in the server's candidates and
 * connection lines, for a server behind NAT or bound to every interface (mediasoup's
 * announcedAddress).
 */
export function announceAddress(sdp: string, announcedIp: string | undefined): string {
  if (!announcedIp) return sdp;
  return lines(sdp)
    .map((line) => {
      if (line.startsWith('a=candidate:')) {
        const parts = line.split(' ');
        if (parts[7] === 'host' && parts[4]) parts[4] = announcedIp;
        return parts.join(' ');
      }
      if (line.startsWith('c=IN IP4 ') || line.startsWith('c=IN IP6 '))
        return `c=IN ${announcedIp.includes(':') ? 'IP6' : 'IP4'} ${announcedIp}`;
      return line;
    })
    .join('\r\n')
    .concat('\r\n');
}

/**
 * Makes the offerer the DTLS client (RFC 8842 §5: an `actpass` offerer accepts either role).
 * When libdatachannel is the client it sends its ClientHello as soon as its own ICE check
 * succeeds, often before the other side is ready for it, and the retransmission comes a second
 * later; as the server it answers a ClientHello that arrives when the other side is ready.
 */
export const offererAsDtlsClient = (sdp: string): string =>
  sdp.replace(/^a=setup:actpass/gm, 'a=setup:active');

/** What a publisher may send, by kind, as named to a client whose offer has none of it. */
export const forwardedCodecNames: Record<MediaKind, string[]> = {
  audio: ['opus'],
  video: ['H264', 'VP8'],
};

/**
 * The audio and video sections of an offer with the offerer's intent: `port` 0 is a section the
 * offerer already rejected (RFC 8866 §5.14), and the direction attribute says which way media
 * goes (RFC 3264 §5.1; `sendrecv` when absent).
 */
function mediaIntents(sdp: string): { media: SdpMedia; rejected: boolean; direction: string }[] {
  const intents: { rejected: boolean; direction: string }[] = [];
  let current: { rejected: boolean; direction: string } | undefined;
  for (const line of lines(sdp)) {
    if (line.startsWith('m=')) {
      current = { rejected: line.split(' ')[1] === '0', direction: 'sendrecv' };
      intents.push(current);
    } else if (current && /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      current.direction = line.slice(2);
    }
  }
  return parseMedia(sdp).flatMap((media, index) => {
    const intent = intents[index];
    return intent && (media.kind === 'audio' || media.kind === 'video')
      ? [{ media, ...intent }]
      : [];
  });
}

/**
 * The kinds a publisher's offer sends in a codec the server cannot forward (VP9 or AV1 video, say).
 * Such an offer is refused whole, not answered with that section rejected: RFC 9725 §4.4.3 asks
 * for no partially successful ingest, since a stream with its video silently dropped looks live
 * to the broadcaster and black to everyone else.
 */
export function unforwardableKinds(sdp: string): MediaKind[] {
  const kinds = new Set<MediaKind>();
  for (const { media, rejected, direction } of mediaIntents(sdp)) {
    if (rejected || direction === 'recvonly' || direction === 'inactive') continue;
    if (!choosePublisherFormat(media)) kinds.add(media.kind as MediaKind);
  }
  return [...kinds];
}

/**
 * The kinds of `stream` a viewer's offer asks for and cannot decode, or every kind the stream
 * carries when the offer asks for none of them: a WHEP session that could only ever be silent
 * and black is refused rather than created. A kind the viewer does not offer at all (an
 * audio-only player) is its choice.
 */
export function unreceivableKinds(
  sdp: string,
  stream: Partial<Record<MediaKind, { name: string; fmtp?: string | undefined }>>,
): MediaKind[] {
  const refused = new Set<MediaKind>();
  let receivable = 0;
  for (const { media, rejected, direction } of mediaIntents(sdp)) {
    const kind = media.kind as MediaKind;
    const codec = stream[kind];
    if (rejected || direction === 'sendonly' || direction === 'inactive' || !codec) continue;
    if (matchViewerFormat(media, codec)) receivable += 1;
    else refused.add(kind);
  }
  if (receivable === 0 && refused.size === 0)
    return (['audio', 'video'] as const).filter((kind) => stream[kind]);
  return [...refused];
}
