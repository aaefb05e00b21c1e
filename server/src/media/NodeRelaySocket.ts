import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { RelayCipher } from './RelayCipher';
import { ReplayWindow } from './ReplayWindow';
import type { NodeAddress, NodeRelaySender } from './StreamRelay';

export interface NodeRelaySettings {
  /** Where the socket binds: the address the API binds when that is one, else every address. */
  bindAddress: string | undefined;
  /** Ports to choose from (the operator's firewall range); any free port when unset. */
  ports: [number, number] | undefined;
  /** The deployment's relay key (base64 of 32 bytes). */
  key: string;
}

export interface NodeRelayCounters {
  /** Datagrams sent to other nodes. */
  sent: number;
  /** Authenticated datagrams received from other nodes. */
  received: number;
  /** Datagrams dropped because they were not sealed with the deployment's key, or were replayed. */
  rejected: number;
}

/**
 * A media worker's UDP socket for media between nodes: every datagram out is sealed with the
 * deployment's relay key and every one in is opened with it, or dropped and counted.
 */
export class NodeRelaySocket implements NodeRelaySender {
  readonly counters: NodeRelayCounters = { sent: 0, received: 0, rejected: 0 };
  private socket: Socket | undefined;
  private readonly cipher: RelayCipher;
  private readonly replays = new ReplayWindow();

  constructor(
    private readonly settings: NodeRelaySettings,
    private readonly onDatagram: (
      type: number,
      channel: number,
      body: Buffer,
      from: RemoteInfo,
    ) => void,
  ) {
    this.cipher = new RelayCipher(Buffer.from(settings.key, 'base64'));
  }

  /** Binds to the first free port of the range, starting at `offset` so workers spread over it. */
  async bind(offset: number): Promise<number> {
    const { ports, bindAddress } = this.settings;
    if (!ports) return this.tryBind(0, bindAddress);
    const [min, max] = ports;
    const size = max - min + 1;
    for (let i = 0; i < size; i += 1) {
      const port = min + ((offset + i) % size);
      try {
        return await this.tryBind(port, bindAddress);
      } catch {
        // taken: try the next one
      }
    }
    throw new Error(`no free relay port in ${min}-${max}`);
  }

  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  send(type: number, channel: number, body: Buffer, to: Iterable<NodeAddress>): void {
    const socket = this.socket;
    if (!socket) return;
    const sealed = this.cipher.seal(type, channel, body);
    for (const { address, port } of to) {
      this.counters.sent += 1;
      socket.send(sealed, port, address);
    }
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  private receive(datagram: Buffer, from: RemoteInfo): void {
    const opened = this.cipher.open(datagram);
    if (!opened || !this.replays.accept(opened.sender, opened.counter)) {
      this.counters.rejected += 1;
      return;
    }
    this.counters.received += 1;
    this.onDatagram(opened.type, opened.channel, opened.body, from);
  }

  /** A socket per attempt: one whose bind failed is not bound again. */
  private tryBind(port: number, address: string | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.once('error', (err) => {
        socket.close();
        reject(err);
      });
      socket.bind(port, address, () => {
        socket.removeAllListeners('error');
        // A send to a node that went away may report an ICMP error here; it concerns nobody.
        socket.on('error', () => undefined);
        socket.on('message', (datagram, from) => this.receive(datagram, from));
        this.socket = socket;
        resolve(socket.address().port);
      });
    });
  }
}
