import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { freePort, sleep } from './ports';

const MAIN = path.resolve(__dirname, '../../../dist/apps/api/src/main.js');

export interface ApiExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal (or start of stop()) to the exit. */
  afterMs: number;
}

/**
 * The API's production build (`node dist/apps/api/src/main.js`) as a child
 * process: what an orchestrator runs, so the suites can signal, kill and
 * restart it and watch its memory. Its output is kept (the last lines) for
 * the failure message and for the assertions on what it logged.
 */
export class ApiProcess {
  private readonly lines: string[] = [];
  private exited: Promise<ApiExit>;
  private signalledAt = 0;

  private constructor(
    readonly baseUrl: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) =>
        resolve({ code, signal, afterMs: Date.now() - this.signalledAt }),
      );
    });
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.lines.push(line);
        if (this.lines.length > 10_000) this.lines.shift();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Starts the API and waits until /health answers (it listens only after start-up). */
  static async start(env: Record<string, string>, port?: number): Promise<ApiProcess> {
    const listenPort = port ?? (await freePort());
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        PORT: String(listenPort),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const api = new ApiProcess(`http://127.0.0.1:${listenPort}`, child);
    const deadline = Date.now() + 30_000;
    let exitedEarly: ApiExit | undefined;
    void api.exited.then((exit) => (exitedEarly = exit));
    while (Date.now() < deadline) {
      if (exitedEarly) throw new Error(`API exited at start:\n${api.output()}`);
      const ok = await fetch(`${api.baseUrl}/health`, { signal: AbortSignal.timeout(1_000) })
        .then((res) => res.ok)
        .catch(() => false);
      if (ok) return api;
      await sleep(100);
    }
    child.kill('SIGKILL');
    throw new Error(`API did not answer /health within 30 s:\n${api.output()}`);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('API has no pid');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size of the API process, in MiB (from /proc). */
  rssMiB(): number {
    if (!this.running) throw new Error(`API exited:\n${this.output()}`);
    const status = readFileSync(`/proc/${String(this.pid)}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    if (!kb) throw new Error('no VmRSS');
    return Math.round((Number(kb) / 1024) * 10) / 10;
  }

  signal(signal: NodeJS.Signals): void {
    this.signalledAt = Date.now();
    this.child.kill(signal);
  }

  /** Resolves when the process has exited (and how), or rejects after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<ApiExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`API still running after ${String(timeoutMs)} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the process for good (SIGKILL if SIGTERM did not end it); safe to call twice. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    await this.waitForExit(15_000).catch(async () => {
      this.child.kill('SIGKILL');
      await this.exited;
    });
  }

  /** The last `lines` lines the API wrote (stdout and stderr). */
  output(lines = 40): string {
    return this.lines.slice(-lines).join('\n');
  }

  /** Everything kept (the last 10 000 lines). */
  get log(): readonly string[] {
    return this.lines;
  }
}
