/**
 * fast-check arbitraries for what a careless or hostile client sends: JSON of the wrong shape,
 * text with control characters and odd unicode, numbers at their limits, prototype-pollution
 * keys, huge strings, and session descriptions that are almost right.
 */
import fc from 'fast-check';

/** The seed every fuzz run uses unless FUZZ_SEED says otherwise, so a failure replays. */
export const fuzzSeed = (): number => {
  const given = process.env.FUZZ_SEED;
  if (given === undefined || given === '') return 20_261_124;
  const seed = Number(given);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got ${given}`);
  return seed;
};

/** Runs per property: FUZZ_RUNS scales a run up locally; the default keeps `npm test` quick. */
export const fuzzRuns = (fallback: number): number => {
  const given = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(given) && given > 0 ? given : fallback;
};

/** Names the server reads somewhere, so objects often carry a field it will look at. */
const knownKeys = [
  'username',
  'password',
  'displayName',
  'title',
  'description',
  'isPrivate',
  'tags',
  'thumbnail',
  'comment',
  'streamId',
  'userId',
  'reaction',
  'role',
  'candidate',
  'sdpMid',
  'sdpMLineIndex',
  'usernameFragment',
  'type',
  'sdp',
  'limit',
  'before',
  'token',
];

/** Keys that reach `Object.prototype` when code merges objects carelessly. */
export const pollutionKeys = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
];

const specialStrings = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\r\n',
  '\u001b[2J',
  '\u202eevil',
  '\ufeff',
  '\u200b',
  '\ud800',
  '\udfff',
  '🎉🔥',
  'e\u0301',
  '<script>alert(1)</script>',
  "'; drop table users; --",
  '../../../etc/passwd',
  '%00',
  '%',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  'true',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '{"__proto__":{"polluted":true}}',
  'javascript:alert(1)',
  'http://127.0.0.1:9/',
  'v=0',
];

const controlChar = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));

/** Strings of every kind, mostly short; now and then long enough to meet a size limit. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: controlChar, maxLength: 10 }), weight: 1 },
  { arbitrary: fc.constantFrom(...specialStrings), weight: 4 },
  { arbitrary: fc.constantFrom(...knownKeys, ...pollutionKeys), weight: 1 },
  {
    // Around the limits the schemas check (200, 500, 1000, 64 KiB) and far past them.
    arbitrary: fc
      .tuple(
        fc.constantFrom('x', '\u0000', 'é', '🎉', ' ', '\n'),
        fc.constantFrom(199, 200, 201, 500, 501, 1001, 65_537, 300_000),
      )
      .map(([unit, n]) => unit.repeat(n)),
    weight: 1,
  },
);

/** Numbers a parser may trip on: NaN and the infinities become `null` in JSON, -0 becomes 0. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    64,
    65,
    100,
    101,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    -Number.MAX_VALUE,
    1e308,
    NaN,
    Infinity,
    -Infinity,
  ),
);

const key = fc.oneof(
  { arbitrary: fc.constantFrom(...knownKeys), weight: 5 },
  { arbitrary: fc.constantFrom(...pollutionKeys), weight: 2 },
  { arbitrary: hostileString, weight: 1 },
);

/**
 * JSON-shaped values, nested a few levels. Objects are built with `Object.fromEntries`, which
 * defines `__proto__` as an own key, so it really is sent rather than setting a prototype.
 */
export function hostileJson(extraLeaves: fc.Arbitrary<unknown>[] = []): fc.Arbitrary<unknown> {
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      hostileString,
      hostileNumber,
      fc.boolean(),
      fc.constant(null),
      ...extraLeaves,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.array(fc.tuple(key, tie('value')), { maxLength: 6 }).map((e) => Object.fromEntries(e)),
    ),
  }));
  return value;
}

/** Objects whose fields have the right names and wrong, or only slightly wrong, values. */
export function hostileObject(
  fields: string[],
  leaves: fc.Arbitrary<unknown>[] = [],
): fc.Arbitrary<Record<string, unknown>> {
  const value = fc.oneof(hostileJson(leaves), ...leaves);
  return fc
    .tuple(
      fc
        .subarray(fields)
        .chain((names) => fc.tuple(...names.map((n) => fc.tuple(fc.constant(n), value)))),
      fc.array(fc.tuple(key, hostileJson(leaves)), { maxLength: 2 }),
    )
    .map(([known, extra]) => Object.fromEntries([...known, ...extra]));
}

/** Printable ASCII only: what an HTTP client lets into a header value. */
export const headerText: fc.Arbitrary<string> = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});

type SdpEdit =
  | { op: 'drop'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'replace'; at: number; text: string }
  | { op: 'insert'; at: number; text: string }
  | { op: 'number'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'bare-lf' };

const sdpEdit: fc.Arbitrary<SdpEdit> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), text: hostileString }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(
      hostileString,
      fc.constantFrom(
        'm=video 9 UDP/TLS/RTP/SAVPF 96',
        'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
        'a=rtpmap:96 VP8/90000',
        'a=rtpmap:96 H264/90000',
        'a=ssrc:0 cname:x',
        'a=ssrc:4294967295 cname:x',
        'a=fingerprint:sha-256 00',
        'a=setup:actpass',
        'a=mid:',
        'a=group:BUNDLE 0 1 2 3',
        'a=extmap:15 urn:ietf:params:rtp-hdrext:sdes:mid',
        'a=candidate:1 1 udp 1 127.0.0.1 9 typ host',
        'a=candidate:1 1 udp 1 999.1.1.1 99999 typ host',
        'b=AS:-1',
      ),
    ),
  }),
  fc.record({ op: fc.constant('number' as const), at: fc.nat(), value: hostileNumber }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.constant({ op: 'bare-lf' as const }),
);

function applyEdits(sdp: string, edits: SdpEdit[]): string {
  let lines = sdp.split('\r\n');
  let lineEnd = '\r\n';
  for (const edit of edits) {
    if (edit.op === 'bare-lf') {
      lineEnd = '\n';
      continue;
    }
    const at = edit.at % Math.max(1, lines.length);
    const line = lines[at] ?? '';
    switch (edit.op) {
      case 'drop':
        lines.splice(at, 1);
        break;
      case 'duplicate':
        lines.splice(at, 0, line);
        break;
      case 'replace':
        lines[at] = edit.text;
        break;
      case 'insert':
        lines.splice(at, 0, edit.text);
        break;
      case 'number':
        lines[at] = line.replace(/\d+/, String(edit.value));
        break;
      case 'truncate':
        lines = lines.slice(0, at);
        break;
    }
  }
  return lines.join(lineEnd);
}

/** A real offer with a few lines dropped, repeated, replaced or renumbered. */
export const mutatedSdp = (offer: string): fc.Arbitrary<string> =>
  fc.array(sdpEdit, { minLength: 1, maxLength: 4 }).map((edits) => applyEdits(offer, edits));

/** SDP bodies: almost-right offers mostly, plain garbage sometimes. */
export const sdpBody = (offers: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...offers).chain(mutatedSdp), weight: 4 },
    { arbitrary: hostileString, weight: 1 },
    { arbitrary: hostileJson().map((v) => JSON.stringify(v) ?? ''), weight: 1 },
  );

/** Long values shortened, so a counterexample with a 300 kB string still reads in a terminal. */
const shorten = (text: string, max = 2000): string =>
  text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;

/**
 * `fc.assert` with a short report: the seed and path that replay the failure, the shrunk
 * counterexample and the assertion that failed, each cut to a readable length.
 */
export async function assertProperty<Ts>(
  property: fc.IAsyncProperty<Ts>,
  params: { seed: number; numRuns: number },
): Promise<void> {
  const details = await fc.check(property, params);
  if (!details.failed) return;
  const error = details.errorInstance;
  const message = error instanceof Error ? error.message : String(error);
  throw new Error(
    [
      `Property failed after ${details.numRuns} runs (seed ${details.seed}, path "${details.counterexamplePath}";` +
        ` FUZZ_SEED=${details.seed} replays it)`,
      `Counterexample: ${shorten(fc.stringify(details.counterexample))}`,
      `Failure: ${shorten(message)}`,
    ].join('\n'),
  );
}
