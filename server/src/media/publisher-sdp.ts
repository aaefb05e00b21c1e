/**
 * The server's answer for a publisher's video section. The server pre-adds a send-receive track
 * for each video section so that it may send RTCP feedback of its own (libdatachannel drops
 * what is written to a receive-only track), so the section must say `recvonly` and carry no SSRC
 * of ours. RID simulcast in one section (RFC 8853) is not accepted: libdatachannel passes a
 * packet to a track by an SSRC some description names, or to the only track there is, and a RID
 * offer names none, so with audio beside it the layers would be dropped unseen. Without
 * `a=simulcast` in the answer the publisher sends one stream (RFC 8853 §5.3); a publisher sends
 * layers as one video section each instead (one camera track in three transceivers).
 */
export function receiveOnlyVideoAnswer(answerSdp: string, mid: string): string {
  const out: string[] = [];
  let inSection = false;
  for (const line of answerSdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) inSection = false;
    if (line === `a=mid:${mid}`) inSection = true;
    if (!inSection) {
      out.push(line);
      continue;
    }
    if (/^a=(ssrc|ssrc-group|msid|rid|simulcast):/.test(line)) continue;
    out.push(line === 'a=sendrecv' || line === 'a=sendonly' ? 'a=recvonly' : line);
  }
  return out.join('\r\n');
}
