import { Client } from 'pg';
import { BoundedPgClient } from '@clincore/database/bounded-pg-client';

/**
 * Rows as the API's pg connections build them (`installPlainRowTemplates`,
 * installed with `BoundedPgClient`), from the real server.
 */
describe('result rows from the plain row template', () => {
  let client: Client;

  beforeAll(async () => {
    client = new BoundedPgClient({ connectionString: process.env.DATABASE_URL });
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
  });

  it('have every column in order, parsed by type, nulls as null, on the usual prototype', async () => {
    const { rows } = await client.query(
      `select 1::int as n, 'x'::text as t, null::text as nothing, '{"a":1}'::jsonb as doc,
              '2026-11-24T05:00:00Z'::timestamptz as at, 10::bigint as big, true as yes`,
    );
    expect(rows).toHaveLength(1);
    const row = rows[0] as Record<string, unknown>;
    expect(Object.keys(row)).toEqual(['n', 't', 'nothing', 'doc', 'at', 'big', 'yes']);
    expect(row).toEqual({
      n: 1,
      t: 'x',
      nothing: null,
      doc: { a: 1 },
      at: new Date('2026-11-24T05:00:00Z'),
      big: '10',
      yes: true,
    });
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
  });

  it('do not share state: each row and each query has its own values', async () => {
    const first = await client.query('select g as v from generate_series(1, 3) g');
    const second = await client.query("select 'other' as v");
    expect(first.rows).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
    expect(second.rows).toEqual([{ v: 'other' }]);
    expect(first.rows[0]).not.toBe(first.rows[1]);
  });

  it('keep a column named __proto__ as a column, never as the prototype', async () => {
    const { rows } = await client.query(`select 'polluted' as "__proto__", 1 as n`);
    const row = rows[0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe('polluted');
    expect(row.n).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('honour type parsers set on the client, as pg does', async () => {
    const own = new BoundedPgClient({
      connectionString: process.env.DATABASE_URL,
      types: { getTypeParser: () => (value: string) => `parsed:${value}` },
    });
    await own.connect();
    try {
      const { rows } = await own.query('select 7::int as n');
      expect(rows).toEqual([{ n: 'parsed:7' }]);
    } finally {
      await own.end();
    }
  });
});
