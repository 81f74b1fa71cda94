import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';

interface RoleFacts {
  role: string;
  rolsuper: boolean;
  rolbypassrls: boolean;
  /** Tables in `public` owned by the role or by a role it is a member of. */
  owned: string[];
  /** Superuser or BYPASSRLS roles it can act as (SET ROLE or inherited). */
  privilegedRoles: string[];
}

/**
 * Refuses to serve when the runtime role could bypass row-level security: a
 * superuser, a BYPASSRLS role, a table owner, or a member of any of those (a
 * member can SET ROLE, and inherits the owner's right to ALTER a table).
 */
@Injectable()
export class DatabaseSafetyCheck implements OnApplicationBootstrap {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    const problems = describeUnsafeRole(await this.roleFacts());
    if (problems.length > 0) {
      throw new Error(
        `Refusing to start: ${problems.join('; ')}. Connect DATABASE_URL as the app role (see npm run db:provision).`,
      );
    }
  }

  private async roleFacts(): Promise<RoleFacts> {
    const rows: RoleFacts[] = await this.dataSource.query(`
      select r.rolname as role, r.rolsuper, r.rolbypassrls,
             coalesce(array(
               select c.relname::text from pg_class c
                 join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = 'public' and c.relkind in ('r', 'p')
                  and pg_has_role(r.oid, c.relowner, 'MEMBER')
                order by 1), '{}') as owned,
             coalesce(array(
               select m.rolname::text from pg_roles m
                where m.oid <> r.oid and (m.rolsuper or m.rolbypassrls)
                  and pg_has_role(r.oid, m.oid, 'MEMBER')
                order by 1), '{}') as "privilegedRoles"
        from pg_roles r where r.rolname = current_user`);
    const facts = rows[0];
    if (!facts) throw new Error('Refusing to start: cannot read the current role');
    return facts;
  }
}

export function describeUnsafeRole(facts: RoleFacts): string[] {
  const problems: string[] = [];
  if (facts.rolsuper) problems.push(`role ${facts.role} is a superuser`);
  if (facts.rolbypassrls) problems.push(`role ${facts.role} has BYPASSRLS`);
  if (facts.owned.length > 0) {
    problems.push(
      `role ${facts.role} owns tables, itself or through a role it belongs to (${facts.owned.join(', ')})`,
    );
  }
  if (facts.privilegedRoles.length > 0) {
    problems.push(
      `role ${facts.role} can act as superuser or BYPASSRLS roles (${facts.privilegedRoles.join(', ')})`,
    );
  }
  return problems;
}
