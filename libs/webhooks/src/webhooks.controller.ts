import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiKeyAuth } from '@clincore/auth/access.decorators';
import { Idempotent } from '@clincore/idempotency/idempotent.decorator';
import { NoBody } from '@clincore/common/no-body';
import { ProblemDto } from '@clincore/common/problem.dto';
import { UuidParamPipe } from '@clincore/common/uuid-param.pipe';
import { CurrentTenant } from '@clincore/tenancy/current-tenant.decorator';
import type { TenantContext } from '@clincore/tenancy/tenant-context';
import {
  ListWebhookDeliveriesQuery,
  WebhookDeliveryDto,
  WebhookDeliveryListDto,
} from './dto/webhook-delivery.dto';
import {
  CreateWebhookEndpointDto,
  UpdateWebhookEndpointDto,
  WebhookEndpointDto,
  WebhookEndpointListDto,
  WebhookEndpointWithSecretDto,
} from './dto/webhook-endpoint.dto';
import { WebhookEndpointsService } from './webhook-endpoints.service';

@ApiTags('webhooks')
@ApiKeyAuth('admin')
@Controller('webhooks')
export class WebhooksController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  @Post('endpoints')
  @Idempotent()
  @ApiOperation({
    summary:
      'Subscribe an endpoint to events; its signing secret is in this response only (and its Idempotency-Key replay)',
  })
  @ApiCreatedResponse({ type: WebhookEndpointWithSecretDto })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'Invalid body, unknown event type or refused url (per-field errors)',
  })
  @ApiConflictResponse({
    type: ProblemDto,
    description: 'The tenant has WEBHOOK_MAX_ENDPOINTS endpoints already (webhook-endpoint-limit)',
  })
  create(
    @CurrentTenant() tenant: TenantContext,
    @Body() dto: CreateWebhookEndpointDto,
  ): Promise<WebhookEndpointWithSecretDto> {
    return this.endpoints.create(tenant, dto);
  }

  @Get('endpoints')
  @ApiOperation({ summary: "List the tenant's webhook endpoints (never their secrets)" })
  @ApiOkResponse({ type: WebhookEndpointListDto })
  list(@CurrentTenant() tenant: TenantContext): Promise<WebhookEndpointListDto> {
    return this.endpoints.list(tenant);
  }

  @Get('endpoints/:id')
  @ApiOperation({ summary: 'One webhook endpoint' })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiBadRequestResponse({ type: ProblemDto, description: 'The id is not a UUID' })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such endpoint in this tenant' })
  get(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<WebhookEndpointDto> {
    return this.endpoints.get(tenant, id);
  }

  @Patch('endpoints/:id')
  @ApiOperation({
    summary: 'Change the url, events, description or status (enabled, disabled) of an endpoint',
  })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'The id is not a UUID, or an invalid body (per-field errors)',
  })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such endpoint in this tenant' })
  update(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
    @Body() dto: UpdateWebhookEndpointDto,
  ): Promise<WebhookEndpointDto> {
    return this.endpoints.update(tenant, id, dto);
  }

  @Delete('endpoints/:id')
  @NoBody()
  @ApiOperation({
    summary: 'Delete an endpoint and its deliveries; nothing more is sent to it',
    description:
      'An event raised by a change that commits in the same instant may still be sent to it once.',
  })
  @ApiOkResponse({ type: WebhookEndpointDto, description: 'The endpoint as it was' })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'The id is not a UUID, or a body was sent (this command takes none)',
  })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such endpoint in this tenant' })
  remove(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<WebhookEndpointDto> {
    return this.endpoints.remove(tenant, id);
  }

  @Post('endpoints/:id/rotate-secret')
  @NoBody()
  @Idempotent()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'A new signing secret, shown once; the old one keeps signing beside it for WEBHOOK_SECRET_GRACE_HOURS',
  })
  @ApiOkResponse({ type: WebhookEndpointWithSecretDto })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'The id is not a UUID, or a body was sent (this command takes none)',
  })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such endpoint in this tenant' })
  rotateSecret(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<WebhookEndpointWithSecretDto> {
    return this.endpoints.rotateSecret(tenant, id);
  }

  @Post('endpoints/:id/test')
  @NoBody()
  @Idempotent()
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a webhook.test event to this endpoint' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto, description: 'Queued; delivered shortly' })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'The id is not a UUID, or a body was sent (this command takes none)',
  })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such endpoint in this tenant' })
  @ApiConflictResponse({
    type: ProblemDto,
    description: 'The endpoint is disabled (webhook-endpoint-disabled)',
  })
  sendTest(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<WebhookDeliveryDto> {
    return this.endpoints.sendTest(tenant, id);
  }

  @Get('endpoints/:id/deliveries')
  @ApiOperation({ summary: "An endpoint's deliveries, newest first (keyset pagination)" })
  @ApiOkResponse({ type: WebhookDeliveryListDto })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'The id is not a UUID, or an invalid limit or cursor',
  })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such endpoint in this tenant' })
  deliveries(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
    @Query() query: ListWebhookDeliveriesQuery,
  ): Promise<WebhookDeliveryListDto> {
    return this.endpoints.deliveries(tenant, id, query);
  }

  @Post('deliveries/:id/retry')
  @NoBody()
  @Idempotent()
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a succeeded or failed delivery once more, now' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto, description: 'Due now' })
  @ApiBadRequestResponse({
    type: ProblemDto,
    description: 'The id is not a UUID, or a body was sent (this command takes none)',
  })
  @ApiNotFoundResponse({ type: ProblemDto, description: 'No such delivery in this tenant' })
  @ApiConflictResponse({
    type: ProblemDto,
    description:
      'The delivery is still pending (webhook-delivery-pending), its endpoint is disabled (webhook-endpoint-disabled), or its event carries no seal of this server and is no longer accepted unsealed (webhook-delivery-unsealed): the workers would refuse to send it',
  })
  retry(
    @CurrentTenant() tenant: TenantContext,
    @Param('id', UuidParamPipe) id: string,
  ): Promise<WebhookDeliveryDto> {
    return this.endpoints.retryDelivery(tenant, id);
  }
}
