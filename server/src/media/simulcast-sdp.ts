/**
 * The SDP of a publisher's video as the server receives it: RID simulcast (RFC 8853, RFC 8851)
 * in one m-section, and the answer libdatachannel cannot write for it by itself.
 */

const ridExtensionUri = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
const midExtensionUri = 'urn:ietf:params:rtp-hdrext:sdes:mid';

export interface SimulcastOffer {
  /** The RIDs the publisher sends, in the order of its `a=simulcast:send` line. */
  rids: string[];
  /** The header extension carrying the RID (RFC 8852 §3.3), by which SSRCs are told apart. */
  ridExtensionId: number | undefined;
}

/** The lines of the m-section whose `a=mid` is `mid`. */
function sectionLines(sdp: string, mid: string): string[] {
  const sections: string[][] = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) sections.push([]);
    sections[sections.length - 1]?.push(line);
  }
  return sections.find((lines) => lines.includes(`a=mid:${mid}`)) ?? [];
}

const extensionLine = (lines: string[], uri: string): string | undefined =>
  lines.find((l) => l.startsWith('a=extmap:') && l.trimEnd().endsWith(` ${uri}`));

/**
 * The RID simulcast a publisher offers for its video section, or undefined when it sends one
 * stream. Alternatives (`q,q2`) and paused streams (`~f`) take their first, unpaused RID.
 */
export function readSimulcast(offerSdp: string, mid: string): SimulcastOffer | undefined {
  const lines = sectionLines(offerSdp, mid);
  const simulcast = lines.find((l) => l.startsWith('a=simulcast:send '));
  if (!simulcast) return undefined;
  const sendPart = simulcast.slice('a=simulcast:send '.length).trim().split(' ')[0] ?? '';
  const rids = sendPart
    .split(';')
    .map((alternatives) => (alternatives.split(',')[0] ?? '').replace(/^~/, ''))
    .filter((rid) => /^[A-Za-z0-9_-]{1,16}$/.test(rid));
  if (rids.length < 2) return undefined;
  const ext = extensionLine(lines, ridExtensionUri);
  const id = ext ? Number(/^a=extmap:(\d+)/.exec(ext)?.[1]) : NaN;
  return { rids: rids.slice(0, 3), ridExtensionId: Number.isInteger(id) ? id : undefined };
}

/**
 * The server's answer for a publisher's video section, made receive-only: the server pre-adds a
 * send-receive track so that it may send RTCP feedback of its own (libdatachannel drops what is
 * written to a receive-only track), so the section must say `recvonly` and carry no SSRC of ours.
 * For RID simulcast it receives what was offered (RFC 8853 §5.3: `a=rid:... recv` and
 * `a=simulcast:recv`), with the offer's MID and RID header extensions so each packet says which
 * stream it belongs to.
 */
export function receiveOnlyVideoAnswer(
  answerSdp: string,
  offerSdp: string,
  mid: string,
  simulcast: SimulcastOffer | undefined,
): string {
  const offered = sectionLines(offerSdp, mid);
  const extra: string[] = [];
  for (const uri of simulcast ? [midExtensionUri, ridExtensionUri] : [midExtensionUri]) {
    const line = extensionLine(offered, uri);
    if (line) extra.push(line);
  }
  if (simulcast) {
    for (const rid of simulcast.rids) extra.push(`a=rid:${rid} recv`);
    extra.push(`a=simulcast:recv ${simulcast.rids.join(';')}`);
  }
  const out: string[] = [];
  let inSection = false;
  for (const line of answerSdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) inSection = false;
    if (line === `a=mid:${mid}`) inSection = true;
    if (!inSection) {
      out.push(line);
      continue;
    }
    if (/^a=(ssrc|ssrc-group|msid|rid|simulcast|extmap):/.test(line)) continue;
    if (line === 'a=sendrecv' || line === 'a=sendonly') {
      out.push('a=recvonly');
      continue;
    }
    out.push(line);
    if (line === `a=mid:${mid}`) out.push(...extra);
  }
  return out.join('\r\n');
}
