import { DataSource } from 'typeorm';
import { ReadinessState } from '../apps/api/src/health/readiness.state';
import { connect, expectProblem, startApi, type TestApi } from './support/api';

describe('health and readiness', () => {
  let api: TestApi;

  beforeEach(async () => {
    api = await startApi();
  });
  afterEach(() => api.close());

  it('is live and ready on a migrated database', async () => {
    const health = await api.http.get('/health').expect(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await api.http.get('/ready').expect(200);
    expect(ready.body).toEqual({
      status: 'ok',
      checks: { shutdown: 'up', database: 'up', migrations: 'up', signing_key: 'up' },
    });
  });

  it('stays live without a database, while readiness says the database is down', async () => {
    await api.app.get(DataSource).destroy();
    expect((await api.http.get('/health').expect(200)).body).toEqual({ status: 'ok' });
    const ready = await api.http.get('/ready');
    expectProblem(ready, 503);
    expect(ready.body.checks).toMatchObject({ database: 'down' });
    expect(JSON.stringify(ready.body)).not.toMatch(/password|postgres:\/\//i);
    // Let close() find a live DataSource again.
    await api.app.get(DataSource).initialize();
  });

  it('is not ready while a migration is pending', async () => {
    const owner = await connect('owner');
    try {
      await owner.query('begin');
      const latest = await owner.query('select * from migrations order by id desc limit 1');
      await owner.query('delete from migrations where id = $1', [latest.rows[0].id]);
      await owner.query('commit');
      try {
        const ready = await api.http.get('/ready');
        expectProblem(ready, 503);
        expect(ready.body.checks).toMatchObject({ database: 'up', migrations: 'down' });
      } finally {
        const { id, timestamp, name } = latest.rows[0];
        await owner.query('insert into migrations (id, timestamp, name) values ($1, $2, $3)', [
          id,
          timestamp,
          name,
        ]);
      }
      await api.http.get('/ready').expect(200);
    } finally {
      await owner.end();
    }
  });

  it('is not ready once shutdown has begun, and still live', async () => {
    api.app.get(ReadinessState).shuttingDown = true;
    const ready = await api.http.get('/ready');
    expectProblem(ready, 503);
    expect(ready.body.checks).toMatchObject({ shutdown: 'down', database: 'up' });
    await api.http.get('/health').expect(200);
  });
});
