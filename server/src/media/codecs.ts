import {
  RTCRtpCodecParameters,
  useAbsSendTime,
  useFIR,
  useNACK,
  useOPUS,
  usePLI,
  useREMB,
  useSdesMid,
  type RTCRtpHeaderExtensionParameters,
} from 'werift';

export type MediaKind = 'audio' | 'video';

const videoFeedback = () => [useNACK(), usePLI(), useFIR(), useREMB()];

/**
 * What a publisher may send: Opus, and VP8 or H.264 (whichever the offer lists first). No
 * transport-cc feedback: Chrome's estimate collapses under werift's TWCC feedback, so it gets
 * REMB instead (see Publisher).
 */
export const publisherCodecs = () => ({
  audio: [useOPUS()],
  video: [
    new RTCRtpCodecParameters({
      mimeType: 'video/VP8',
      clockRate: 90000,
      rtcpFeedback: videoFeedback(),
    }),
    new RTCRtpCodecParameters({
      mimeType: 'video/H264',
      clockRate: 90000,
      rtcpFeedback: videoFeedback(),
      parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
    }),
    new RTCRtpCodecParameters({
      mimeType: 'video/H264',
      clockRate: 90000,
      rtcpFeedback: videoFeedback(),
      parameters: 'profile-level-id=42001f;packetization-mode=1;level-asymmetry-allowed=1',
    }),
  ],
});

/**
 * Header extensions, with the mid extension shared by both kinds: werift numbers the entries of
 * both lists in sequence, and a bundled connection must use one id per extension (RFC 8843 §9.2),
 * or Chrome cannot tell the video packets' mid and drops them. The shared object gets one id.
 */
export const headerExtensions = (): {
  audio: RTCRtpHeaderExtensionParameters[];
  video: RTCRtpHeaderExtensionParameters[];
} => {
  const mid = useSdesMid();
  return { audio: [mid], video: [mid, useAbsSendTime()] };
};

/** A copy of a negotiated codec for a viewer's connection, so the viewer is offered exactly what the publisher sends. */
export function viewerCodec(codec: RTCRtpCodecParameters): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: codec.mimeType,
    clockRate: codec.clockRate,
    channels: codec.channels,
    parameters: codec.parameters,
    payloadType: codec.payloadType,
    rtcpFeedback: codec.mimeType.toLowerCase().startsWith('video/') ? videoFeedback() : [],
  });
}

/** Used for viewers who arrive before the publisher's codecs are known. */
export const defaultViewerCodecs = () => ({
  audio: useOPUS(),
  video: publisherCodecs().video[0] as RTCRtpCodecParameters,
});
