import { randomUUID } from 'node:crypto';
import { NEWS2_INPUTS } from '../../support/cases';
import { sleep } from './ports';

/** What became of one request: an HTTP status, or no answer at all. */
export type Outcome = number | 'refused' | 'reset' | 'timeout';

export interface RequestRecord {
  op: 'create' | 'finalize';
  requestId: string;
  caseId?: string;
  startedAt: number;
  ms: number;
  outcome: Outcome;
  /** The problem type of an error answer. */
  problem?: string;
}

export interface LoadOptions {
  baseUrl: string;
  apiKey: string;
  /** Concurrent partners, each one request at a time. */
  workers: number;
  /** Requests per second, all workers together. */
  rate: number;
  /** How long the client waits for an answer before it gives up on a request. */
  timeoutMs: number;
}

/**
 * Partners that open cases and finalize them at a steady rate, and remember
 * every request: which ones were acknowledged (2xx) and so must be in the
 * database, which were refused and how, which got no answer. A worker
 * finalizes the case it last opened, then opens the next.
 */
export class LoadClient {
  readonly records: RequestRecord[] = [];
  /** Cases whose creation was acknowledged (201), by id. */
  readonly created = new Set<string>();
  /** Cases whose finalization was acknowledged (200). */
  readonly finalized = new Set<string>();
  private running = false;
  private loops: Array<Promise<void>> = [];

  constructor(private readonly options: LoadOptions) {}

  start(): void {
    this.running = true;
    const interval = (1000 * this.options.workers) / this.options.rate;
    this.loops = Array.from({ length: this.options.workers }, (_, i) =>
      this.worker(interval, (interval * i) / this.options.workers),
    );
  }

  /** Sends no new request from now on; the ones in flight go on (stop() waits for them). */
  stopSending(): void {
    this.running = false;
  }

  /** Stops sending and waits for every request in flight to end. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Records of requests started in [from, to). */
  between(from: number, to = Infinity): RequestRecord[] {
    return this.records.filter((r) => r.startedAt >= from && r.startedAt < to);
  }

  summary(records = this.records): LoadSummary {
    const count = (test: (r: RequestRecord) => boolean): number => records.filter(test).length;
    const statuses: Record<string, number> = {};
    for (const r of records) statuses[String(r.outcome)] = (statuses[String(r.outcome)] ?? 0) + 1;
    const answered = records.filter((r) => typeof r.outcome === 'number');
    const latencies = answered.map((r) => r.ms).sort((a, b) => a - b);
    return {
      sent: records.length,
      acknowledged: count((r) => typeof r.outcome === 'number' && r.outcome < 300),
      status_503: count((r) => r.outcome === 503),
      status_5xx_other: count(
        (r) => typeof r.outcome === 'number' && r.outcome >= 500 && r.outcome !== 503,
      ),
      no_answer: count((r) => typeof r.outcome !== 'number'),
      statuses,
      max_answer_ms: Math.round(latencies[latencies.length - 1] ?? 0),
      p99_answer_ms: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
    };
  }

  private async worker(interval: number, offset: number): Promise<void> {
    await sleep(offset);
    let open: string | undefined;
    while (this.running) {
      const tick = Date.now();
      if (open) {
        const caseId = open;
        const record = await this.send('finalize', `/cases/${caseId}/finalize`, {
          signed_by: 'Dr. Load Test',
          meaning: 'approval',
        });
        record.caseId = caseId;
        if (record.outcome === 200) this.finalized.add(caseId);
        // A refused finalize is retried; 409 means an earlier unanswered try went through.
        if (record.outcome === 200 || record.outcome === 409 || record.outcome === 404)
          open = undefined;
      } else {
        const record = await this.send('create', '/cases', {
          protocol: 'news2',
          subject_ref: `MRN-${randomUUID().slice(0, 8)}`,
          inputs: NEWS2_INPUTS,
        });
        if (record.outcome === 201 && record.caseId) {
          this.created.add(record.caseId);
          open = record.caseId;
        }
      }
      const wait = interval - (Date.now() - tick);
      if (wait > 0) await sleep(wait);
    }
  }

  private async send(op: RequestRecord['op'], path: string, body: object): Promise<RequestRecord> {
    const requestId = `load-${randomUUID()}`;
    const startedAt = Date.now();
    const record: RequestRecord = { op, requestId, startedAt, ms: 0, outcome: 'timeout' };
    this.records.push(record);
    try {
      const res = await fetch(`${this.options.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-API-Key': this.options.apiKey,
          'X-Request-Id': requestId,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      const json = (await res.json().catch(() => ({}))) as { id?: string; type?: string };
      record.outcome = res.status;
      if (op === 'create' && res.status === 201) record.caseId = json.id;
      if (res.status >= 400) record.problem = json.type;
    } catch (error) {
      record.outcome = failureOf(error);
    }
    record.ms = Date.now() - startedAt;
    return record;
  }
}

export interface LoadSummary {
  sent: number;
  acknowledged: number;
  status_503: number;
  status_5xx_other: number;
  no_answer: number;
  statuses: Record<string, number>;
  max_answer_ms: number;
  p99_answer_ms: number;
}

function failureOf(error: unknown): Outcome {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'timeout';
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'refused';
  return 'reset';
}
