import { helmetHeaders } from './request-pipeline';

describe('helmetHeaders', () => {
  it("records helmet's headers for static options", () => {
    const headers = new Map(
      helmetHeaders({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }),
    );
    expect(headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(headers.get('Content-Security-Policy')).not.toContain('upgrade-insecure-requests');
  });

  it('refuses a directive computed per request (a nonce would be frozen into one value)', () => {
    expect(() =>
      helmetHeaders({
        contentSecurityPolicy: { directives: { scriptSrc: ["'self'", () => "'nonce-x'"] } },
      }),
    ).toThrow(/computed per request/);
  });
});
