import type { CountingViewer, ViewerType, WhepTarget } from './types';

/** Loads only the client asked for, so a werift load generator never loads node-datachannel. */
export async function viewerFactory(
  type: ViewerType,
): Promise<(target: WhepTarget) => CountingViewer> {
  if (type === 'node-datachannel') {
    const { NodeDataChannelViewer } = await import('./node-datachannel');
    return (target) => new NodeDataChannelViewer(target);
  }
  const { WeriftViewer } = await import('./werift');
  return (target) => new WeriftViewer(target);
}
