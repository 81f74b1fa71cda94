import type { NestExpressApplication } from '@nestjs/platform-express';
import { ReadinessState } from './health/readiness.state';

/**
 * Drains the API: readiness turns 503 at once. For `delayMs` the API keeps
 * serving (a load balancer or Kubernetes takes a moment to see the 503 and
 * stop routing here: until then new requests still get answers, and probes
 * get a 503 rather than a refused connection). Then the listener stops taking
 * connections, idle keep-alive connections close, in-flight requests finish
 * (cut off after `timeoutMs`), and Nest closes the pool and the key listener.
 */
export async function drainAndClose(
  app: NestExpressApplication,
  timeoutMs: number,
  delayMs = 0,
): Promise<void> {
  app.get(ReadinessState).shuttingDown = true;
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
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
