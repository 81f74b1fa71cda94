import { registerAs } from '@nestjs/config';
import { envInt } from '@clincore/common/env';

export interface AccessLogsConfig {
  /** Entries held in memory at most; past it new entries are dropped and counted. */
  queueMax: number;
  /** Largest batch written at once. */
  batchSize: number;
  /** How often the queue is written out. */
  flushMs: number;
  retentionDays: number;
}

export function loadAccessLogsConfig(env: NodeJS.ProcessEnv = process.env): AccessLogsConfig {
  return {
    queueMax: envInt(env, 'ACCESS_LOG_QUEUE_MAX', 50_000, 1, 10_000_000),
    batchSize: envInt(env, 'ACCESS_LOG_BATCH_SIZE', 1_000, 1, 100_000),
    flushMs: envInt(env, 'ACCESS_LOG_FLUSH_MS', 1_000, 10, 3_600_000),
    retentionDays: envInt(env, 'ACCESS_LOG_RETENTION_DAYS', 90, 1, 36_500),
  };
}

export const accessLogsConfig = registerAs('accessLogs', () => loadAccessLogsConfig());
