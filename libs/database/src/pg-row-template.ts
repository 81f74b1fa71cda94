import pg, { type FieldDef } from 'pg';

type Parser = (value: string) => unknown;

interface TypeParsers {
  getTypeParser(oid: number, format: string): Parser;
}

/** The part of node-postgres's `Result` (not in its typings) that this replaces. */
interface PgResult {
  fields: FieldDef[];
  _parsers: Parser[] | undefined;
  _types: TypeParsers | undefined;
  _prebuiltEmptyResultObject: Record<string, null> | null;
  addFields: (this: PgResult, fields: FieldDef[]) => void;
}

const INSTALLED = Symbol.for('clincore.pg-row-template');

/**
 * node-postgres (8.23) builds, for every query, the empty row that each result
 * row is cloned from: a null-prototype object, copied once with a spread. V8
 * keeps null-prototype objects in dictionary mode, and copying one takes its
 * slow path: about 22 thousand instructions per query, 4.5% of a
 * `GET /cases/{id}` (brianc/node-postgres#3042 and #3753 discuss the cost).
 * This builds the same template as a plain object: same keys in the same
 * order, all null, Object.prototype as the rows' prototype, as before. Built
 * the same way every time, it takes V8's cached transitions and stays in fast
 * mode.
 *
 * pg's null prototype also guards a column named `__proto__`, which on a
 * plain object would set the prototype; a result with such a column keeps
 * pg's own path. Type parsers are looked up as pg does (`_types` when the
 * query carries its own).
 *
 * Installed once per process, on pg's `Result` class: every pool connection
 * (the API's, TypeORM's, the CLI's) gets it.
 */
export function installPlainRowTemplates(): void {
  const prototype = (pg as unknown as { Result: { prototype: PgResult } }).Result.prototype;
  const marked = prototype as PgResult & { [INSTALLED]?: true };
  if (marked[INSTALLED]) return;
  const original = prototype.addFields;
  if (typeof original !== 'function')
    throw new Error('node-postgres has no Result.addFields: review pg-row-template.ts');
  prototype.addFields = function addFields(this: PgResult, fields: FieldDef[]): void {
    if (fields.some((field) => field.name === '__proto__')) {
      original.call(this, fields);
      return;
    }
    this.fields = fields;
    const parsers = new Array<Parser>(fields.length);
    const types = this._types ?? (pg.types as unknown as TypeParsers);
    const row: Record<string, null> = {};
    for (const [i, field] of fields.entries()) {
      row[field.name] = null;
      parsers[i] = types.getTypeParser(field.dataTypeID, field.format || 'text');
    }
    if (fields.length) this._parsers = parsers;
    this._prebuiltEmptyResultObject = row;
  };
  marked[INSTALLED] = true;
}
