/**
 * The picture size an H.264 key frame declares in its sequence parameter set, read from the RTP
 * payload that carries the SPS: what tells one simulcast layer from another when the RTP
 * stream ids are gone.
 */

const nalType = { sps: 7, stapA: 24, fuA: 28 } as const;

/**
 * Width and height from the SPS found in an H.264 RTP payload (single NAL type 7, STAP-A
 * containing 7, or FU-A start of 7), RFC 6184 §5.6–5.8; SPS syntax ITU-T H.264 §7.3.2.1.1 incl.
 * frame cropping and high profiles' chroma_format_idc/scaling lists.
 */
export function h264KeyframeSize(
  packet: Buffer,
  at: number,
): { width: number; height: number } | undefined {
  const sps = spsPayload(packet, at);
  if (!sps) return undefined;
  try {
    return readSpsSize(new BitReader(unescapeRbsp(sps)));
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

/** The SPS's bytes after its NAL header octet, or undefined when the payload carries none. */
function spsPayload(p: Buffer, at: number): Buffer | undefined {
  if (at < 0 || p.length < at + 2) return undefined;
  const type = (p[at] as number) & 0x1f;
  // §5.6: a single NAL unit packet is the NAL unit itself.
  if (type === nalType.sps) return p.subarray(at + 1);
  if (type === nalType.stapA) {
    // §5.7.1: after the STAP-A octet, NAL units each preceded by a 16-bit size.
    for (let i = at + 1; i + 2 < p.length;) {
      const size = p.readUInt16BE(i);
      const end = i + 2 + size;
      if (size === 0 || end > p.length) return undefined;
      if (((p[i + 2] as number) & 0x1f) === nalType.sps) return p.subarray(i + 3, end);
      i = end;
    }
    return undefined;
  }
  if (type === nalType.fuA) {
    // §5.8: the FU header's S bit marks the first fragment, its low five bits the NAL type; the
    // NAL header octet itself is not carried, the fragment starts with the SPS's first byte.
    const fu = p[at + 1] as number;
    if (!(fu & 0x80) || (fu & 0x1f) !== nalType.sps) return undefined;
    return p.subarray(at + 2);
  }
  return undefined;
}

/** Drops the emulation prevention bytes (00 00 03 → 00 00, H.264 §7.4.1). */
function unescapeRbsp(nal: Buffer): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let length = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

/** Reads bits MSB first; running off the end throws RangeError (a truncated SPS). */
class BitReader {
  #bit = 0;
  constructor(private readonly bytes: Buffer) {}

  u(bits: number): number {
    let value = 0;
    for (let n = 0; n < bits; n += 1) {
      const byte = this.bytes[this.#bit >> 3];
      if (byte === undefined) throw new RangeError('SPS ends early');
      value = value * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit += 1;
    }
    return value;
  }

  /** ue(v), Exp-Golomb (§9.1); more than 31 leading zeros is no value an SPS holds. */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      zeros += 1;
      if (zeros > 31) throw new RangeError('Exp-Golomb code too long');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** se(v) (§9.1.1): 1, 2, 3, 4 … map to 1, −1, 2, −2 … */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** Profiles whose SPS carries chroma_format_idc, bit depths and scaling lists (§7.3.2.1.1). */
const highProfiles = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function readSpsSize(r: BitReader): { width: number; height: number } | undefined {
  const profileIdc = r.u(8);
  r.u(8); // constraint_set flags and reserved_zero_2bits
  r.u(8); // level_idc
  if (r.ue() > 31) return undefined; // seq_parameter_set_id
  let chromaFormatIdc = 1; // 4:2:0 when absent (§7.4.2.1.1)
  let separateColourPlane = false;
  if (highProfiles.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc > 3) return undefined;
    if (chromaFormatIdc === 3) separateColourPlane = r.u(1) === 1;
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.u(1); // qpprime_y_zero_transform_bypass_flag
    if (r.u(1)) {
      // seq_scaling_matrix_present_flag: six 4x4 lists, then two or six 8x8 lists.
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i += 1) if (r.u(1)) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const picOrderCntType = r.ue();
  if (picOrderCntType === 0) {
    r.ue(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (picOrderCntType === 1) {
    r.u(1); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ue();
    if (cycle > 255) return undefined;
    for (let i = 0; i < cycle; i += 1) r.se();
  } else if (picOrderCntType !== 2) {
    return undefined;
  }
  r.ue(); // max_num_ref_frames
  r.u(1); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = r.ue() + 1;
  const heightInMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u(1);
  if (!frameMbsOnly) r.u(1); // mb_adaptive_frame_field_flag
  r.u(1); // direct_8x8_inference_flag
  let width = widthInMbs * 16;
  // (7-18): a map unit is a field macroblock pair when frames may be coded as fields.
  let height = (2 - frameMbsOnly) * heightInMapUnits * 16;
  if (r.u(1)) {
    // frame_cropping_flag: offsets in chroma sample units (7-19 … 7-22).
    const left = r.ue();
    const right = r.ue();
    const top = r.ue();
    const bottom = r.ue();
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const cropUnitX = chromaArrayType === 0 ? 1 : chromaFormatIdc === 3 ? 1 : 2;
    const cropUnitY = (chromaArrayType === 0 || chromaFormatIdc !== 1 ? 1 : 2) * (2 - frameMbsOnly);
    width -= cropUnitX * (left + right);
    height -= cropUnitY * (top + bottom);
  }
  if (width <= 0 || height <= 0) return undefined;
  return { width, height };
}

/** scaling_list() (§7.3.2.1.1.1): only its length in bits matters here. */
function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j += 1) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}
