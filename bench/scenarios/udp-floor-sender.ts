/**
 * The sending side of the UDP floor: replays the fan-out fixture (the same VP8 + Opus packets at
 * their recorded timing) and sends each packet, unencrypted and unchanged, with dgram.send from
 * one socket to every receiver port. What a forwarder must do at the least, per packet and viewer.
 */
import dgram from 'node:dgram';
import { replay } from '../../server/test/support/rtp-fixture';
import { serveParent } from '../lib/ipc';

const ports = JSON.parse(process.argv[2]!) as number[];
const socket = dgram.createSocket('udp4');
let sent = 0;
let errors = 0;
let stop: (() => void) | undefined;

const onSent = (error: Error | null) => {
  if (error) errors += 1;
};

async function main(): Promise<void> {
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  stop = replay(
    (_kind, packet) => {
      const bytes = packet.serialize();
      for (const port of ports) socket.send(bytes, port, '127.0.0.1', onSent);
      sent += ports.length;
    },
    { loop: true },
  );
  process.send!({ type: 'ready' });
}

serveParent({
  take: () => {
    const counts = { type: 'counts', sent, errors };
    sent = 0;
    errors = 0;
    return counts;
  },
  close: () => {
    stop?.();
    socket.close();
    process.exit(0);
  },
});

main().catch((error: unknown) => {
  process.send!({ type: 'error', message: String(error) });
  process.exit(1);
});
