import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode =
  /** Bytes pass both ways. */
  | { kind: 'forward' }
  /** Bytes pass, each chunk held back `ms` first: a slow network or a slow server. */
  | { kind: 'delay'; ms: number }
  /** Connections are accepted and nothing is forwarded either way: a server that stopped answering. */
  | { kind: 'blackhole' };

/**
 * A TCP proxy in front of PostgreSQL that the suites can slow down or make
 * go silent, for the faults a restart cannot show: a database that accepts
 * connections and then never answers. While silent, what arrives is dropped,
 * not buffered: a connection that lived through it is broken for good, as a
 * real half-open connection would be.
 */
export class TcpProxy {
  mode: ProxyMode = { kind: 'forward' };
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('proxy has no port');
    const proxy = new TcpProxy(server, address.port);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    return proxy;
  }

  /** Open client connections (each one a server connection too). */
  get connections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  /**
   * Bytes keep their order: each chunk is due at arrival plus the delay of the
   * moment, never before the chunk ahead of it, so switching modes cannot
   * reorder a stream. Silence drops the chunk.
   */
  private pipe(from: Socket, to: Socket): void {
    const queue: Array<{ due: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && (queue[0]?.due ?? 0) <= now) {
        const next = queue.shift();
        if (next) to.write(next.chunk);
      }
      const head = queue[0];
      if (head) timer = setTimeout(pump, head.due - now);
    };
    from.on('data', (chunk: Buffer) => {
      const mode = this.mode;
      if (mode.kind === 'blackhole') return;
      const delay = mode.kind === 'delay' ? mode.ms : 0;
      const last = queue[queue.length - 1]?.due ?? 0;
      queue.push({ due: Math.max(Date.now() + delay, last), chunk });
      if (timer === undefined) pump();
    });
    from.on('close', () => clearTimeout(timer));
  }
}
