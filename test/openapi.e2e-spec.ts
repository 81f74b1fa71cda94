import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildOpenApiDocument } from '../apps/api/src/swagger';
import { startApi } from './support/api';

const FILE = path.join(__dirname, '..', 'docs', 'openapi.json');

/**
 * docs/openapi.json is the contract partners read without running the API. It
 * must be what the app serves: `npm run openapi:export` rewrites it, and this
 * test fails when it is stale.
 */
describe('docs/openapi.json', () => {
  it('matches the document the API serves', async () => {
    const api = await startApi();
    try {
      const current = `${JSON.stringify(buildOpenApiDocument(api.app), null, 2)}\n`;
      if (process.env.UPDATE_OPENAPI === '1') writeFileSync(FILE, current);
      expect(existsSync(FILE)).toBe(true);
      expect(readFileSync(FILE, 'utf8')).toBe(current);
    } finally {
      await api.close();
    }
  });
});
