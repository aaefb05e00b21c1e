/**
 * The receiving side of the UDP floor: `count` plain UDP sockets on 127.0.0.1 that count the
 * datagrams they get (no parsing, no decryption) until told to close.
 */
import dgram from 'node:dgram';
import { serveParent } from '../lib/ipc';

const count = Number(process.argv[2]);
const sockets: dgram.Socket[] = [];
let received = 0;

async function main(): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const socket = dgram.createSocket('udp4');
    socket.on('message', () => {
      received += 1;
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    sockets.push(socket);
  }
  process.send!({ type: 'ready', ports: sockets.map((s) => s.address().port) });
}

serveParent({
  take: () => {
    const counts = { type: 'counts', received };
    received = 0;
    return counts;
  },
  close: () => {
    for (const s of sockets) s.close();
    process.exit(0);
  },
});

main().catch((error: unknown) => {
  process.send!({ type: 'error', message: String(error) });
  process.exit(1);
});
