/**
 * Asks a Node process started with `--inspect=127.0.0.1:0` to collect its garbage, over the
 * inspector's WebSocket (Chrome DevTools Protocol, `HeapProfiler.collectGarbage`). Used before
 * reading the server's memory so that RSS and heap describe live memory, not whatever garbage
 * start-up (the embedded database, the TypeScript loader) left for the next major collection.
 * A minimal WebSocket client: small masked text frames out, unfragmented frames in.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';

function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i += 1) masked[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask, masked]);
}

/** Splits complete server frames (unmasked) off the front of `buffer`. */
function* frames(state: { buffer: Buffer }): Generator<{ opcode: number; payload: Buffer }> {
  for (;;) {
    const b = state.buffer;
    if (b.length < 2) return;
    let length = b[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return;
      length = Number(b.readBigUInt64BE(2));
      offset = 10;
    }
    if (b.length < offset + length) return;
    state.buffer = b.subarray(offset + length);
    yield { opcode: b[0]! & 0x0f, payload: b.subarray(offset, offset + length) };
  }
}

export async function collectGarbage(wsUrl: string, timeoutMs = 15_000): Promise<void> {
  const url = new URL(wsUrl);
  const socket = await new Promise<Duplex>((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Version': '13',
      },
    });
    req.on('upgrade', (_res, s: Duplex) => resolve(s));
    req.on('response', (res) => reject(new Error(`inspector answered ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('inspector: no answer')), timeoutMs);
      const state = { buffer: Buffer.alloc(0) };
      // Two collections: the second frees what finalizers of the first released.
      let pending = 2;
      socket.on('data', (chunk: Buffer) => {
        state.buffer = Buffer.concat([state.buffer, chunk]);
        for (const f of frames(state)) {
          if (f.opcode !== 1) continue;
          const message = JSON.parse(f.payload.toString()) as { id?: number; error?: unknown };
          if (message.error) {
            clearTimeout(timer);
            reject(new Error(`inspector: ${JSON.stringify(message.error)}`));
          } else if (message.id !== undefined && (pending -= 1) === 0) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.write(frame(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
      socket.write(frame(JSON.stringify({ id: 2, method: 'HeapProfiler.collectGarbage' })));
    });
  } finally {
    socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
    socket.destroy();
  }
}
