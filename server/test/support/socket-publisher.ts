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

/**
 * Publishes as the web app's broadcaster does after its node died: an offer refused with
 * `conflict` (the stream's claim is still held by the dead node's session, until the other nodes
 * see that node gone) is made again every `everyMs`, for up to `withinMs`. Resolves with the
 * publisher and when its offer was accepted.
 */
export async function republishOverSocket(
  socket: ClientSocket,
  streamId: string,
  { everyMs = 500, withinMs = 15_000 } = {},
): Promise<{ publisher: SyntheticPublisher; acceptedAt: number; refusals: number }> {
  const deadline = Date.now() + withinMs;
  for (let refusals = 0; ; refusals++) {
    const publisher = new SyntheticPublisher();
    const res = await emitAck(socket, 'live_offer', {
      streamId,
      description: { type: 'offer', sdp: await publisher.offer() },
    });
    if (res.ok) {
      const acceptedAt = Date.now();
      await publisher.accept(res.description.sdp);
      publisher.start();
      return { publisher, acceptedAt, refusals };
    }
    await publisher.close();
    if (res.error.code !== 'conflict' || Date.now() > deadline)
      throw new Error(`publishing again refused: ${JSON.stringify(res.error)}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
