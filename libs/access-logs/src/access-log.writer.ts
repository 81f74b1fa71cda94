import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { observedGauge } from '@clincore/common/metrics';
import { accessLogsConfig } from './access-logs.config';

/** Requests of no known tenant are logged under the nil tenant, which no tenant can read. */
export const NO_TENANT = '00000000-0000-0000-0000-000000000000';

export interface AccessLogEntry {
  tenant_id: string;
  occurred_at: string;
  id: string;
  key_id: string | null;
  method: string;
  route: string | null;
  path: string;
  status: number;
  duration_ms: number;
  ip: string | null;
  user_agent: string | null;
  request_id: string;
}

/**
 * Writes the request log off the request path: entries queue in memory and go
 * out in batches every `flushMs` (or as soon as a batch is full), and all of
 * them on shutdown. The queue is bounded: when it is full a new entry is
 * dropped, not the request, and `dropped` counts it. A failed write puts its
 * batch back, within the bound, for the next try.
 */
@Injectable()
export class AccessLogWriter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AccessLogWriter.name);
  private queue: AccessLogEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Entries refused because the queue was full. */
  dropped = 0;
  /** Entries written. */
  written = 0;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(accessLogsConfig.KEY) private readonly config: ConfigType<typeof accessLogsConfig>,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.flushMs);
    this.timer.unref();
    observedGauge(
      'clincore_access_log_queue_depth',
      'Access-log entries waiting to be written',
      () => this.queue.length,
    );
    observedGauge(
      'clincore_access_log_dropped',
      'Access-log entries dropped because the queue was full, since start',
      () => this.dropped,
    );
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flushAll();
  }

  get pending(): number {
    return this.queue.length;
  }

  enqueue(entry: AccessLogEntry): void {
    if (this.queue.length >= this.config.queueMax) {
      if (this.dropped === 0)
        this.logger.warn('access log queue is full: new entries are dropped and counted');
      this.dropped += 1;
      return;
    }
    this.queue.push(entry);
    if (this.queue.length >= this.config.batchSize) void this.flush();
  }

  /** Writes one batch; concurrent calls share the write in progress. */
  flush(): Promise<void> {
    this.flushing ??= this.writeBatch().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Writes everything queued, waiting for a write in progress first. */
  async flushAll(): Promise<void> {
    await this.flushing;
    while (this.queue.length > 0) {
      const before = this.queue.length;
      await this.flush();
      if (this.queue.length >= before) {
        // The database refuses: at shutdown what is left is lost, and said so.
        this.logger.error(`access log: ${this.queue.length} entries could not be written`);
        return;
      }
    }
    if (this.dropped > 0)
      this.logger.warn(`access log: ${this.dropped} entries dropped (queue full) since start`);
  }

  private async writeBatch(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.config.batchSize);
    try {
      await this.dataSource.query('select append_access_logs($1)', [JSON.stringify(batch)]);
      this.written += batch.length;
    } catch (error) {
      const room = Math.max(0, this.config.queueMax - this.queue.length);
      this.dropped += Math.max(0, batch.length - room);
      this.queue.unshift(...batch.slice(0, room));
      this.logger.warn(
        `access log write failed (${error instanceof Error ? error.message : String(error)}); will retry`,
      );
    }
  }
}
