import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './database-unavailable';

const driverError = (code: string, message = 'x'): Error =>
  Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
    ['a server starting up (57P03)', driverError('57P03', 'the database system is starting up')],
    ['a terminated backend (57P01)', driverError('57P01')],
    ['a statement timeout (57014)', driverError('57014')],
    ['a deadlock victim (40P01)', driverError('40P01', 'deadlock detected')],
    ['a serialization failure (40001)', driverError('40001')],
    ['a connection-class SQLSTATE (08006)', driverError('08006')],
    ['a prepared statement the server lost (26000)', driverError('26000')],
    [
      'a prepared statement whose row type changed (0A000)',
      driverError('0A000', 'cached plan must not change result type'),
    ],
    ['a pool acquire timeout', new Error('timeout exceeded when trying to connect')],
    ['a cut connection', new Error('Connection terminated unexpectedly')],
    ['a client-side query timeout', new Error('Query read timeout')],
  ])('is true for %s, bare or wrapped by TypeORM', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(isDatabaseUnavailable(new QueryFailedError('select 1', [], error))).toBe(true);
  });

  it('is true for a transaction whose connection broke between statements', () => {
    const released = Object.assign(new Error('Query runner already released.'), {
      name: 'QueryRunnerAlreadyReleasedError',
    });
    expect(isDatabaseUnavailable(released)).toBe(true);
  });

  it.each([
    ['a unique violation', driverError('23505')],
    ['a syntax error', driverError('42601')],
    ['another unsupported feature (0A000)', driverError('0A000', 'cannot do that')],
    ['an RLS refusal', driverError('42501')],
    ['a plain bug', new TypeError('cannot read properties of undefined')],
    ['a non-error', 'boom'],
    ['nothing', undefined],
  ])('is false for %s', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
