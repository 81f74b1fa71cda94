import { describeUnsafeRole } from './database-safety.check';

describe('runtime role safety', () => {
  const plain = {
    role: 'clincore_app',
    rolsuper: false,
    rolbypassrls: false,
    owned: [],
    privilegedRoles: [],
  };

  it('accepts a plain role that owns nothing and belongs to nothing privileged', () => {
    expect(describeUnsafeRole(plain)).toEqual([]);
  });

  it('names every way a role could see past row-level security', () => {
    expect(
      describeUnsafeRole({
        role: 'r',
        rolsuper: true,
        rolbypassrls: true,
        owned: ['tenants'],
        privilegedRoles: ['admin'],
      }),
    ).toEqual([
      'role r is a superuser',
      'role r has BYPASSRLS',
      'role r owns tables, itself or through a role it belongs to (tenants)',
      'role r can act as superuser or BYPASSRLS roles (admin)',
    ]);
  });
});
