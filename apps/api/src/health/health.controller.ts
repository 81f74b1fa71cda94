import { Controller, Get, HttpException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiSchema,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  HealthCheckService,
  type HealthCheckResult,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { Public } from '@clincore/auth/access.decorators';
import { ProblemDto } from '@clincore/common/problem.dto';
import { DatabaseStatusService } from '@clincore/database/database-status.service';
import { SigningKeyring } from '@clincore/signatures/signing-keyring.service';
import { type CheckStatus, NotReadyException } from './not-ready.exception';
import { ReadinessState } from './readiness.state';

@ApiSchema({ name: 'Health' })
class HealthDto {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';
}

@ApiSchema({ name: 'Ready' })
class ReadyDto {
  @ApiProperty({ example: 'ok' })
  status!: 'ok';

  @ApiProperty({ example: { shutdown: 'up', database: 'up', migrations: 'up', signing_key: 'up' } })
  checks!: Record<string, CheckStatus>;
}

const CHECK_TIMEOUT_MS = 2_000;

@ApiTags('operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseStatusService,
    private readonly state: ReadinessState,
    private readonly keyring: SigningKeyring,
  ) {}

  @Get('health')
  @ApiOperation({ summary: 'Liveness: the process answers; touches no database' })
  @ApiOkResponse({ type: HealthDto })
  liveness(): HealthDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary:
      'Readiness: database answers, no migration pending, signing key loaded, not shutting down',
  })
  @ApiOkResponse({ type: ReadyDto })
  @ApiServiceUnavailableResponse({
    type: ProblemDto,
    description: 'Not ready; `checks` says which check is down',
  })
  async readiness(): Promise<ReadyDto> {
    try {
      const result = await this.health.check([
        () => {
          const shutdown = this.indicators.check('shutdown');
          return this.state.shuttingDown ? shutdown.down() : shutdown.up();
        },
        () =>
          this.indicators
            .check('database')
            .attempt(() => this.database.ping())
            .withTimeout(CHECK_TIMEOUT_MS),
        () =>
          this.indicators
            .check('migrations')
            .attempt(async () => {
              const pending = await this.database.pendingMigrations();
              if (pending.length > 0) throw new Error(`${pending.length} pending`);
            })
            .withTimeout(CHECK_TIMEOUT_MS),
        () => {
          const signingKey = this.indicators.check('signing_key');
          return this.keyring.ready ? signingKey.up() : signingKey.down();
        },
      ]);
      return { status: 'ok', checks: summarize(result) };
    } catch (error) {
      if (error instanceof HttpException) {
        throw new NotReadyException(summarize(error.getResponse() as HealthCheckResult));
      }
      throw error;
    }
  }
}

/** Up or down per check; the indicators' messages stay in the logs, not in a public body. */
function summarize(result: HealthCheckResult): Record<string, CheckStatus> {
  const checks: Record<string, CheckStatus> = {};
  for (const [name, detail] of Object.entries(result.details)) {
    checks[name] = detail.status === 'up' ? 'up' : 'down';
  }
  return checks;
}
