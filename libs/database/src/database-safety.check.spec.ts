import { describeUnsafeRole } from './database-safety.check';

describe('runtime role safety', () => {
  it('accepts a plain role that owns nothing', () => {
    expect(
      describeUnsafeRole({ role: 'clincore_app', rolsuper: false, rolbypassrls: false, owned: [] }),
    ).toEqual([]);
  });

  it('names every way a role could see past row-level security', () => {
    expect(
      describeUnsafeRole({ role: 'r', rolsuper: true, rolbypassrls: true, owned: ['tenants'] }),
    ).toEqual(['role r is a superuser', 'role r has BYPASSRLS', 'role r owns tables (tenants)']);
  });
});
