import type { SdpFormat } from './sdp';

export type MediaKind = 'audio' | 'video';

/** A stream's negotiated codec of one kind: what the publisher sends and viewers are offered. */
export interface Codec {
  mimeType: string;
  /** The publisher's payload type. */
  payloadType: number;
  clockRate: number;
  channels?: number | undefined;
  fmtp?: string | undefined;
  /** Video: how many simulcast streams the publisher sends (1 without simulcast). */
  layers?: number | undefined;
}

export type StreamCodecs = Partial<Record<MediaKind, Codec>>;

export function codecOf(kind: MediaKind, format: SdpFormat): Codec {
  return {
    mimeType: `${kind}/${format.name}`,
    payloadType: format.payloadType,
    clockRate: format.clockRate,
    channels: format.channels,
    fmtp: format.fmtp,
  };
}

export const codecName = (codec: Codec): string =>
  codec.mimeType.slice(codec.mimeType.indexOf('/') + 1);

/** Whether a viewer negotiated for `a` can be fed `b` without renegotiating. */
export const sameCodec = (a: Codec | undefined, b: Codec | undefined): boolean =>
  a?.mimeType.toLowerCase() === b?.mimeType.toLowerCase();

/** Whether another section's format is the same codec as `codec` (one camera's layers share one). */
export const sameFormat = (codec: Codec, format: SdpFormat): boolean =>
  codecName(codec).toLowerCase() === format.name.toLowerCase();
