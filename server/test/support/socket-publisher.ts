import { expect } from 'vitest';
import { SyntheticPublisher } from './loopback-peers';
import { emitAck, type ClientSocket } from './server';

/**
 * Publishes the recorded fixture to `streamId` over the host's `socket`, as the web app's
 * broadcaster does (its offer in `live_offer`, the server's answer in the ack), and starts
 * sending. The caller closes the publisher.
 */
export async function publishOverSocket(
  socket: ClientSocket,
  streamId: string,
): Promise<SyntheticPublisher> {
  const publisher = new SyntheticPublisher();
  const res = await emitAck(socket, 'live_offer', {
    streamId,
    description: { type: 'offer', sdp: await publisher.offer() },
  });
  expect(res.ok).toBe(true);
  await publisher.accept(res.description.sdp);
  publisher.start();
  return publisher;
}
