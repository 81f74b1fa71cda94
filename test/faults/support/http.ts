export interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
  ms: number;
}

/** One JSON request as a partner sends it; `status` 0 when no answer came. */
export async function call(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  apiKey: string,
  body?: object,
  timeoutMs = 15_000,
): Promise<Answer> {
  const started = Date.now();
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const parsed = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      body: parsed,
      ms: Date.now() - started,
    };
  } catch {
    return { status: 0, contentType: '', body: {}, ms: Date.now() - started };
  }
}
