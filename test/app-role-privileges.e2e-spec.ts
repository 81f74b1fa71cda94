import { connect } from './support/api';
import { compareWithAllowList, effectivePrivileges } from './support/privileges';

describe('the app role holds only the privileges the API uses', () => {
  it('matches the allow-list: nothing missing, nothing extra (no TEMPORARY, no CREATE, no PUBLIC EXECUTE)', async () => {
    const app = await connect('app');
    try {
      expect(compareWithAllowList(await effectivePrivileges(app))).toEqual({
        extra: [],
        missing: [],
      });
    } finally {
      await app.end();
    }
  });

  it('cannot create a temporary table, nor anything in schema public', async () => {
    const app = await connect('app');
    try {
      await expect(app.query('create temporary table scratch (x int)')).rejects.toThrow(
        /permission denied to create temporary tables/,
      );
      await expect(app.query('create table public.scratch (x int)')).rejects.toThrow(
        /permission denied for schema public/,
      );
      await expect(
        app.query('create function public.f() returns int language sql as $$ select 1 $$'),
      ).rejects.toThrow(/permission denied for schema public/);
    } finally {
      await app.end();
    }
  });
});
