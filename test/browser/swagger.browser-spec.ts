import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { OpenAPIObject } from '@nestjs/swagger';
import { chromium, type Browser, type Page } from 'playwright-core';
import { WebhookDispatcher } from '@clincore/webhooks/webhook-dispatcher';
import { bootstrapToken, connect, startApi, type TestApi } from '../support/api';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = path.join(__dirname, '..', '..', 'test-output');

type Body = Record<string, unknown>;

/**
 * Swagger UI as a new partner uses it, in Debian's Chromium driven by
 * playwright-core: every operation, in the order a partner works, run with
 * "Try it out" and Execute on the example body as delivered. Only path ids,
 * If-Match and the credentials are filled in, from earlier responses.
 */
describe('Swagger UI in a browser', () => {
  let api: TestApi;
  let browser: Browser;
  let base: string;
  let doc: OpenAPIObject;

  beforeAll(async () => {
    api = await startApi();
    // The delivered webhook example points at partner.example: with the workers stopped,
    // nothing is looked up or sent anywhere (tests send only to 127.0.0.1).
    await api.app.get(WebhookDispatcher).onModuleDestroy();
    await api.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
    doc = (await api.http.get('/docs/openapi.json').expect(200)).body as OpenAPIObject;
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

  /** The documented 2xx status of each operation, by operationId. */
  function documentedSuccess(): Map<string, { tag: string; status: number }> {
    const operations = new Map<string, { tag: string; status: number }>();
    for (const methods of Object.values(doc.paths)) {
      for (const op of Object.values(methods as Record<string, unknown>)) {
        const { operationId, tags, responses } = op as {
          operationId: string;
          tags: string[];
          responses: Record<string, unknown>;
        };
        const success = Object.keys(responses).find((code) => code.startsWith('2'));
        operations.set(operationId, { tag: tags[0] ?? '', status: Number(success) });
      }
    }
    return operations;
  }

  async function authorize(page: Page, scheme: string, secret: string): Promise<void> {
    await page.click('.btn.authorize');
    const form = page.locator('.auth-container', { hasText: scheme });
    const logout = form.locator('button', { hasText: 'Logout' });
    if (await logout.count()) await logout.click();
    await form.locator('input').fill(secret);
    await form.locator('button.authorize').click();
    await page.click('.btn-done');
  }

  /** Try it out, fill only the named inputs, Execute; the live status and body. */
  async function execute(
    page: Page,
    tag: string,
    operationId: string,
    fill: Record<string, string> = {},
  ): Promise<{ status: number; body: Body }> {
    const operation = page.locator(`#operations-${tag}-${operationId}`);
    await operation.locator('.opblock-summary').click();
    await operation.locator('.try-out__btn').click();
    for (const [placeholder, value] of Object.entries(fill))
      await operation.locator(`input[placeholder="${placeholder}"]`).fill(value);
    await operation.locator('.execute').click();
    const status = operation.locator('.live-responses-table tbody .response-col_status').first();
    await status.waitFor({ timeout: 15_000 });
    const text = await operation
      .locator('.live-responses-table tbody .response-col_description pre')
      .first()
      .innerText();
    // Prometheus text is not JSON; the walk reads bodies only for ids and keys.
    const body = text.trimStart().startsWith('{') ? (JSON.parse(text) as Body) : { text };
    return { status: Number((await status.innerText()).trim()), body };
  }

  it('runs every operation from its delivered example and gets its documented success', async () => {
    const expected = documentedSuccess();
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    await page.goto(`${base}/docs`);
    await page.waitForSelector('.swagger-ui .information-container', { timeout: 20_000 });
    mkdirSync(OUT, { recursive: true });

    const ran = new Map<string, number>();
    const run = async (operationId: string, fill: Record<string, string> = {}) => {
      const tag = expected.get(operationId)?.tag ?? 'unknown';
      const result = await execute(page, tag, operationId, fill);
      ran.set(operationId, result.status);
      if (result.status !== expected.get(operationId)?.status)
        throw new Error(`${operationId}: ${result.status} ${JSON.stringify(result.body)}`);
      return result.body;
    };
    const screenshot = async (tag: string) => {
      const section = page.locator('.opblock-tag-section', {
        has: page.locator(`#operations-tag-${tag}`),
      });
      await section.screenshot({ path: path.join(OUT, `swagger-${tag}.png`) });
    };

    // An operator creates the tenant; its first admin key is then the partner's credential.
    await authorize(page, 'bootstrap-token', bootstrapToken());
    const tenant = await run('BootstrapController_bootstrap');
    await authorize(page, 'X-API-Key', String(tenant.api_key));

    const opened = await run('CasesController_create');
    const caseId = String(opened.id);
    await run('CasesController_list');
    await run('CasesController_get', { id: caseId });
    await run('CasesController_update', { id: caseId, 'If-Match': `"${String(opened.version)}"` });
    await run('CasesController_events', { id: caseId });
    await screenshot('cases');

    await run('SignaturesController_finalize', { id: caseId });
    await run('ReplayController_verifyReplay', { id: caseId });
    await run('SignaturesController_jwks');
    await screenshot('signatures');

    await run('FhirController_metadata');
    await screenshot('fhir');

    await run('ApiKeysController_list');
    const issued = await run('ApiKeysController_issue');
    await run('ApiKeysController_revoke', { id: String(issued.id) });
    // Rotation ends the calling key at once (grace 0): from here on, the new key.
    const rotated = await run('ApiKeyRotationController_rotate');
    await authorize(page, 'X-API-Key', String(rotated.api_key));
    await screenshot('api-keys');

    await run('UsageController_get');
    await screenshot('usage');
    await run('AuditController_list');
    await run('AuditController_verify');
    await screenshot('audit');
    await run('AccessLogsController_list');
    await screenshot('access-logs');

    const endpoint = await run('WebhooksController_create');
    const endpointId = String(endpoint.id);
    await run('WebhooksController_list');
    await run('WebhooksController_get', { id: endpointId });
    await run('WebhooksController_update', { id: endpointId });
    await run('WebhooksController_rotateSecret', { id: endpointId });
    await run('WebhooksController_sendTest', { id: endpointId });
    const sent = await run('WebhooksController_deliveries', { id: endpointId });
    const deliveryId = String((sent.items as Body[])[0]?.id);
    // What the stopped workers would have recorded after the last attempt: failed, retryable.
    await markDeliveryFailed(String(tenant.tenant_id), deliveryId);
    await run('WebhooksController_retry', { id: deliveryId });
    await run('WebhooksController_remove', { id: endpointId });
    await screenshot('webhooks');

    await run('PlatformController_list');
    await run('PlatformController_setBillingStatus', { id: String(tenant.tenant_id) });
    await screenshot('platform');

    await run('HealthController_liveness');
    await run('HealthController_readiness');
    await run('MetricsController_metrics');
    await screenshot('operations');

    // Every documented operation was run, so a new one must join the walk.
    expect([...ran.keys()].sort()).toEqual([...expected.keys()].sort());
    await page.close();
  }, 480_000);
});

async function markDeliveryFailed(tenantId: string, deliveryId: string): Promise<void> {
  const db = await connect('app');
  try {
    await db.query('begin');
    await db.query(`select set_config('app.tenant_id', $1, true)`, [tenantId]);
    const updated = await db.query(
      `update webhook_deliveries set status = 'failed', next_attempt_at = null, last_error = 'status 503'
        where tenant_id = $1 and id = $2`,
      [tenantId, deliveryId],
    );
    if (updated.rowCount !== 1) throw new Error(`delivery ${deliveryId} not found`);
    await db.query('commit');
  } finally {
    await db.end();
  }
}
