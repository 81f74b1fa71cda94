import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { MIGRATIONS } from '@clincore/migrations/index';
import { MIGRATIONS_TABLE } from './data-source.options';

/** What readiness asks of the database, through the runtime pool. */
@Injectable()
export class DatabaseStatusService {
  private readonly expected = MIGRATIONS.map((m) => m.name);

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async ping(): Promise<void> {
    await this.dataSource.query('select 1');
  }

  /** Names of migrations the code has and the database has not applied. */
  async pendingMigrations(): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.dataSource.query(
      `select name from ${MIGRATIONS_TABLE}`,
    );
    const applied = new Set(rows.map((r) => r.name));
    return this.expected.filter((name) => !applied.has(name));
  }
}
