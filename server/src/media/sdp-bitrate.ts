/**
 * Adds Chrome's `x-google-*-bitrate` parameters (kbit/s) to the video codecs of an answer. Chrome
 * reads them from the remote description: starting its encoder at a useful bitrate means it opens
 * at the camera's resolution instead of climbing there from 300 kbit/s over tens of seconds.
 */
export function withVideoBitrates(
  sdp: string,
  kbps: { start: number; min: number; max: number },
): string {
  const params = `x-google-start-bitrate=${kbps.start};x-google-min-bitrate=${kbps.min};x-google-max-bitrate=${kbps.max}`;
  const lines = sdp.split('\r\n');
  const videoPts = new Set<string>();
  let inVideo = false;
  for (const line of lines) {
    if (line.startsWith('m=')) inVideo = line.startsWith('m=video');
    const match = !inVideo ? null : /^a=rtpmap:(\d+) (VP8|VP9|H264|AV1)\//i.exec(line);
    if (match?.[1]) videoPts.add(match[1]);
  }
  const out: string[] = [];
  const withFmtp = new Set<string>();
  for (const line of lines) {
    const fmtp = /^a=fmtp:(\d+) /.exec(line);
    if (fmtp?.[1] && videoPts.has(fmtp[1])) {
      withFmtp.add(fmtp[1]);
      out.push(`${line};${params}`);
      continue;
    }
    out.push(line);
  }
  // Codecs with no fmtp line get one right after their rtpmap.
  return out
    .flatMap((line) => {
      const rtpmap = /^a=rtpmap:(\d+) /.exec(line);
      const pt = rtpmap?.[1];
      return pt && videoPts.has(pt) && !withFmtp.has(pt)
        ? [line, `a=fmtp:${pt} ${params}`]
        : [line];
    })
    .join('\r\n');
}
