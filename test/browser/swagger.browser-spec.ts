import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { bootstrapTenant, startApi, type TestApi } from '../support/api';
import { createCase } from '../support/cases';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = path.join(__dirname, '..', '..', 'test-output');

/** Swagger UI as an admin uses it: in Debian's Chromium, driven by playwright-core. */
describe('Swagger UI in a browser', () => {
  let api: TestApi;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    api = await startApi();
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser.close();
    await api.close();
  });

  it('authorizes with an API key, runs GET /cases/{id} and shows the 200 body', async () => {
    const tenant = await bootstrapTenant(api.http, 'Browser Hospital');
    const created = await createCase(api.http, tenant.adminKey);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    await page.goto(`${base}/docs`);
    await page.waitForSelector('.swagger-ui .information-container', { timeout: 20_000 });

    await page.click('.btn.authorize');
    const apiKeyForm = page.locator('.auth-container', { hasText: 'X-API-Key' });
    await apiKeyForm.locator('input').fill(tenant.adminKey);
    await apiKeyForm.locator('button.authorize').click();
    await page.click('.btn-done');

    const operation = page.locator('#operations-cases-CasesController_get');
    await operation.locator('.opblock-summary').click();
    await operation.locator('.try-out__btn').click();
    await operation.locator('input[placeholder="id"]').fill(created.id);
    await operation.locator('.execute').click();
    const status = operation.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 15_000 });
    expect((await status.innerText()).trim()).toBe('200');
    const body = await operation
      .locator('.live-responses-table tbody .response-col_description pre')
      .first()
      .innerText();
    expect(JSON.parse(body)).toMatchObject({ id: created.id, protocol: 'news2', status: 'open' });

    mkdirSync(OUT, { recursive: true });
    // The operation with its live response, for the test output.
    await operation.screenshot({ path: path.join(OUT, 'swagger-get-case.png') });
    await page.close();
  });
});
