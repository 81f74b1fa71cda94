import { Controller, Get, Header, Req } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { Public } from '@clincore/auth/access.decorators';
import { AuthErrorCode, AuthException } from '@clincore/auth/auth.exception';
import { metricsRegistry, observedGauge } from '@clincore/common/metrics';
import { ProblemDto } from '@clincore/common/problem.dto';

/** The METRICS_TOKEN as a bearer credential, in the OpenAPI document. */
export const METRICS_TOKEN_SCHEME = 'metrics-token';

interface PoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  private readonly tokenDigest = process.env.METRICS_TOKEN
    ? createHash('sha256').update(process.env.METRICS_TOKEN).digest()
    : undefined;

  constructor(@InjectDataSource() dataSource: DataSource) {
    const pool = (): PoolLike | undefined =>
      (dataSource.driver as unknown as { master?: PoolLike }).master;
    observedGauge(
      'clincore_db_pool_total',
      'Database connections open in the runtime pool',
      () => pool()?.totalCount ?? 0,
    );
    observedGauge(
      'clincore_db_pool_idle',
      'Idle connections in the runtime pool',
      () => pool()?.idleCount ?? 0,
    );
    observedGauge(
      'clincore_db_pool_waiting',
      'Requests waiting for a pooled connection',
      () => pool()?.waitingCount ?? 0,
    );
  }

  @Get()
  @Public()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus metrics; with METRICS_TOKEN set, only for Authorization: Bearer <token>',
  })
  // Optional security, not a header parameter: a server without METRICS_TOKEN asks for nothing.
  @ApiSecurity({})
  @ApiSecurity(METRICS_TOKEN_SCHEME)
  @ApiOkResponse({
    description: 'Prometheus text exposition format',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiUnauthorizedResponse({
    type: ProblemDto,
    description: 'METRICS_TOKEN is set and the bearer token is missing or wrong',
  })
  async metrics(@Req() req: Request): Promise<string> {
    if (this.tokenDigest) {
      const presented = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!timingSafeEqual(createHash('sha256').update(presented).digest(), this.tokenDigest)) {
        throw new AuthException(
          AuthErrorCode.InvalidCredential,
          'The metrics token is missing or wrong.',
        );
      }
    }
    return metricsRegistry.metrics();
  }
}
