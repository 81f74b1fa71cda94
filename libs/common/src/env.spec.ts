import { loadAppConfig } from './app.config';
import { envBool, envInt, envPostgresUrl } from './env';

describe('environment parsing', () => {
  it('reads integers within bounds and names the variable otherwise', () => {
    expect(envInt({ N: '42' }, 'N', 1, 0, 100)).toBe(42);
    expect(envInt({}, 'N', 7, 0, 100)).toBe(7);
    expect(() => envInt({ N: '101' }, 'N', 1, 0, 100)).toThrow(
      /N must be an integer between 0 and 100/,
    );
    expect(() => envInt({ N: '1e3' }, 'N', 1, 0, 5000)).toThrow(/N must be/);
  });

  it('reads booleans strictly', () => {
    expect(envBool({ B: 'false' }, 'B', true)).toBe(false);
    expect(envBool({ B: 'YES' }, 'B', false)).toBe(true);
    expect(() => envBool({ B: 'maybe' }, 'B', false)).toThrow(/B must be true or false/);
  });

  it('checks database URLs without echoing them', () => {
    expect(envPostgresUrl({ U: 'postgres://a:b@h:5432/db' }, 'U')).toBe('postgres://a:b@h:5432/db');
    for (const bad of ['not a url s3cr3t', 'http://a:s3cr3t@h/db', 'postgres://a:s3cr3t@h']) {
      let message = '';
      try {
        envPostgresUrl({ U: bad }, 'U');
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^Invalid configuration: U /);
      expect(message).not.toContain('s3cr3t');
    }
  });

  it('defaults the app config for development', () => {
    const config = loadAppConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      production: false,
      port: 3000,
      host: '0.0.0.0',
    });
    expect(config.dataDir.endsWith('.data')).toBe(true);
  });
});
