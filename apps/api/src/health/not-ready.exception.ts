import { DomainException } from '@clincore/common/domain.exception';

export type CheckStatus = 'up' | 'down';

export class NotReadyException extends DomainException<'not-ready'> {
  constructor(readonly checks: Record<string, CheckStatus>) {
    const down = Object.keys(checks).filter((name) => checks[name] === 'down');
    super('not-ready', `Not ready: ${down.join(', ')} down.`);
  }
}
