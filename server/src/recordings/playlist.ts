/**
 * HLS media playlists (RFC 8216) for fragmented MP4 segments. A recording's playlist only grows
 * (an EVENT playlist, §4.3.3.5) and is appended to as segments land; a live window of its last
 * few segments is rendered for players that join while it is live.
 */

/** One media segment as a playlist names it. */
export interface PlaylistSegment {
  uri: string;
  /** Seconds. */
  duration: number;
  /** The initialization segment it needs: a new one starts a new part (§4.3.2.5). */
  map: string;
  /** It follows a break (another publisher session, §4.3.2.3). */
  discontinuity: boolean;
}

/**
 * `#EXT-X-VERSION:7` covers `EXT-X-MAP` with fMP4 segments (§4.3.2.5, §7); the target duration
 * is the longest segment rounded to the nearest second (§4.3.3.1: no EXTINF so rounded may
 * exceed it). It sets how far behind the live edge players start (three target durations for
 * many), so 1.4 s segments keep it at 1. A writer that cannot know it yet names its bound.
 */
export function playlistHeader(targetDuration: number, event: boolean): string {
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${targetDuration}`,
    ...(event ? ['#EXT-X-PLAYLIST-TYPE:EVENT'] : []),
    '#EXT-X-INDEPENDENT-SEGMENTS',
    '',
  ].join('\n');
}

/** The lines one segment adds to a playlist that already names `previousMap` as its map. */
export function segmentLines(segment: PlaylistSegment, previousMap: string | undefined): string {
  const lines: string[] = [];
  if (segment.discontinuity && previousMap !== undefined) lines.push('#EXT-X-DISCONTINUITY');
  if (segment.map !== previousMap) lines.push(`#EXT-X-MAP:URI="${segment.map}"`);
  lines.push(`#EXTINF:${segment.duration.toFixed(3)},`, segment.uri, '');
  return lines.join('\n');
}

/**
 * The last `count` segments as a live playlist: its media sequence and discontinuity sequence
 * count what slid out of it (§4.3.3.2, §4.3.3.3), so a player polling it keeps its place.
 */
export function liveWindow(
  segments: readonly PlaylistSegment[],
  count: number,
  targetDuration: number,
): string {
  const first = Math.max(0, segments.length - count);
  let discontinuities = 0;
  for (let i = 1; i <= first && i < segments.length; i += 1)
    if (segments[i]?.discontinuity) discontinuities += 1;
  let text = playlistHeader(targetDuration, false).replace(
    '#EXT-X-INDEPENDENT-SEGMENTS\n',
    `#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:${first}\n#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuities}\n`,
  );
  let map: string | undefined;
  for (let i = first; i < segments.length; i += 1) {
    const segment = segments[i] as PlaylistSegment;
    text += segmentLines(
      // The window's first segment names its map afresh and starts no break.
      i === first ? { ...segment, discontinuity: false } : segment,
      map,
    );
    map = segment.map;
  }
  return text;
}

/**
 * Reads back what a recording's playlist lists, to continue it (a publisher that came back on
 * another worker or node) or to close it (its worker died). Tolerates a torn last line.
 */
export function parsePlaylist(text: string): {
  segments: PlaylistSegment[];
  ended: boolean;
} {
  const segments: PlaylistSegment[] = [];
  let map = '';
  let duration: number | undefined;
  let discontinuity = false;
  let ended = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MAP:')) map = /URI="([^"]*)"/.exec(line)?.[1] ?? map;
    else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line === '#EXT-X-ENDLIST') ended = true;
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith('#') && duration !== undefined && Number.isFinite(duration)) {
      segments.push({ uri: line, duration, map, discontinuity });
      duration = undefined;
      discontinuity = false;
    }
  }
  return { segments, ended };
}

/**
 * The longest segment rounded to the nearest second, at least `floor` (a loop: a day's recording
 * has more segments than a call may take arguments).
 */
export function longestRounded(segments: readonly PlaylistSegment[], floor = 1): number {
  let longest = floor;
  for (const s of segments) longest = Math.max(longest, Math.round(s.duration));
  return longest;
}

/** The whole list as a finished recording (§4.3.3.4 `#EXT-X-ENDLIST`, §4.3.3.5 VOD). */
export function vodPlaylist(segments: readonly PlaylistSegment[]): string {
  const target = longestRounded(segments);
  let text = playlistHeader(target, false).replace(
    '#EXT-X-TARGETDURATION',
    '#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION',
  );
  let map: string | undefined;
  for (const segment of segments) {
    text += segmentLines(segment, map);
    map = segment.map;
  }
  return `${text}#EXT-X-ENDLIST\n`;
}
