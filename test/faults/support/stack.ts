import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ApiProcess } from './api-process';
import { PgCluster } from './cluster';
import { sleep } from './ports';

export interface Tenant {
  tenantId: string;
  adminKey: string;
}

/**
 * One fault suite's world: its own PostgreSQL cluster and the API's
 * production build in front of it. `apiEnv` is what every start of the API
 * gets (timeouts, pool size); `startApi` can point it elsewhere (a proxy).
 */
export class FaultStack {
  api: ApiProcess | undefined;
  private constructor(
    readonly cluster: PgCluster,
    readonly dataDir: string,
    readonly bootstrapToken: string,
    readonly apiEnv: Record<string, string>,
  ) {}

  static async create(apiEnv: Record<string, string> = {}): Promise<FaultStack> {
    const cluster = await PgCluster.create();
    // Signing keys and the like: kept across restarts of the API, as on a real host.
    const dataDir = await mkdtemp(path.join(tmpdir(), 'clincore-faults-api-'));
    return new FaultStack(cluster, dataDir, randomBytes(24).toString('base64url'), apiEnv);
  }

  async startApi(overrides: Record<string, string> = {}, port?: number): Promise<ApiProcess> {
    this.api = await ApiProcess.start(
      {
        DATABASE_URL: this.cluster.urls.app,
        MIGRATION_DATABASE_URL: this.cluster.urls.owner,
        DATA_DIR: this.dataDir,
        BOOTSTRAP_TOKEN: this.bootstrapToken,
        // Counting must never refuse a call in these runs, nor a burst of 401s (rotation races)
        // throttle the load generator's address.
        FREE_TIER_CALL_LIMIT: '1000000',
        AUTH_FAILURE_LIMIT: '1000000',
        ...this.apiEnv,
        ...overrides,
      },
      port,
    );
    return this.api;
  }

  get baseUrl(): string {
    if (!this.api) throw new Error('API not started');
    return this.api.baseUrl;
  }

  async bootstrapTenant(name: string): Promise<Tenant> {
    const res = await fetch(`${this.baseUrl}/bootstrap`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${this.bootstrapToken}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ tenant_name: name }),
    });
    if (res.status !== 201) throw new Error(`bootstrap: ${String(res.status)} ${await res.text()}`);
    const body = (await res.json()) as { tenant_id: string; api_key: string };
    return { tenantId: body.tenant_id, adminKey: body.api_key };
  }

  /** GET /ready's status now (0 when there is no answer within 3 s). */
  async readyStatus(): Promise<number> {
    return fetch(`${this.baseUrl}/ready`, { signal: AbortSignal.timeout(3_000) })
      .then((res) => res.status)
      .catch(() => 0);
  }

  /** Polls `probe` until it is true; the time it took, or throws after `timeoutMs`. */
  async waitFor(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      if (await probe()) return Date.now() - started;
      await sleep(50);
    }
    throw new Error(`${what}: not within ${String(timeoutMs)} ms\n${this.api?.output() ?? ''}`);
  }

  async destroy(): Promise<void> {
    await this.api?.stop();
    await this.cluster.destroy();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
