import { AccessLogWriter } from '@clincore/access-logs/access-log.writer';
import { bootstrapTenant, connect, startApi } from './support/api';

describe('access log queue', () => {
  it('is bounded: past its size new entries are dropped and counted; the rest are flushed on shutdown', async () => {
    // No timed flush: only a full batch or shutdown writes.
    const api = await startApi({
      ACCESS_LOG_QUEUE_MAX: '5',
      ACCESS_LOG_BATCH_SIZE: '100',
      ACCESS_LOG_FLUSH_MS: '3600000',
    });
    const writer = api.app.get(AccessLogWriter);
    let tenantId: string;
    const requestIds: string[] = [];
    try {
      const tenant = await bootstrapTenant(api.http, 'Queue Clinic');
      tenantId = tenant.tenantId;
      await writer.flushAll();
      const before = { pending: writer.pending, dropped: writer.dropped };
      expect(before.pending).toBe(0);
      for (let i = 0; i < 8; i += 1) {
        const res = await api.http.get('/cases').set('X-API-Key', tenant.adminKey).expect(200);
        requestIds.push(res.headers['x-request-id'] as string);
      }
      expect(writer.pending).toBe(5);
      expect(writer.dropped - before.dropped).toBe(3);
    } finally {
      await api.close();
    }
    expect(writer.pending).toBe(0);
    const app = await connect('app');
    try {
      await app.query('begin');
      await app.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
      const rows = (
        await app.query('select request_id from access_logs where request_id = any($1)', [
          requestIds,
        ])
      ).rows;
      await app.query('rollback');
      // What the queue held was written at shutdown; the three it refused were not.
      expect(rows.map((r: { request_id: string }) => r.request_id).sort()).toEqual(
        requestIds.slice(0, 5).sort(),
      );
    } finally {
      await app.end();
    }
  });
});
