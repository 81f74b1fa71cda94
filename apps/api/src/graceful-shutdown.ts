import type { NestExpressApplication } from '@nestjs/platform-express';
import { ReadinessState } from './health/readiness.state';

/**
 * Drains the API: readiness turns 503 at once, the listener stops taking
 * connections, idle keep-alive connections close, in-flight requests finish
 * (cut off after `timeoutMs`), then Nest closes the pool and the key listener.
 */
export async function drainAndClose(app: NestExpressApplication, timeoutMs: number): Promise<void> {
  app.get(ReadinessState).shuttingDown = true;
  const server = app.getHttpServer();
  const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  try {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  } finally {
    clearTimeout(force);
    clearInterval(idle);
  }
  await app.close();
}
