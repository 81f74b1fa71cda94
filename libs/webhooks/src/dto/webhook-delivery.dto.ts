import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { PageLimit } from '@clincore/common/page-limit';

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

@ApiSchema({ name: 'WebhookDelivery' })
export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({
    format: 'uuid',
    description: 'The event, sent as the webhook-id header on every attempt',
  })
  event_id!: string;

  @ApiProperty({ example: 'case.finalized' })
  event_type!: string;

  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  case_id!: string | null;

  @ApiProperty({
    enum: ['pending', 'succeeded', 'failed'],
    description:
      'failed: every attempt of the retry schedule failed (POST .../retry sends it again)',
  })
  status!: WebhookDeliveryStatus;

  @ApiProperty({ type: 'integer', minimum: 0 })
  attempts!: number;

  @ApiProperty({
    nullable: true,
    type: 'integer',
    minimum: 100,
    maximum: 999,
    description: 'HTTP status of the last attempt',
  })
  last_status_code!: number | null;

  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'Why the last attempt failed (timeout, connection error, refused target, status; or, not sent at all, an event this server did not write: "refused: the event was not written by this server …")',
  })
  last_error!: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  last_attempt_at!: string | null;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'When the next attempt is due; null once succeeded or failed',
  })
  next_attempt_at!: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;
}

@ApiSchema({ name: 'WebhookDeliveryList' })
export class WebhookDeliveryListDto {
  @ApiProperty({ type: [WebhookDeliveryDto] })
  items!: WebhookDeliveryDto[];

  @ApiProperty({ nullable: true, type: String, description: 'Pass as cursor for the next page' })
  next_cursor!: string | null;
}

export class ListWebhookDeliveriesQuery {
  @PageLimit(20)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor from the previous page' })
  @IsOptional()
  @IsString()
  @CodePointLength(1, 200)
  cursor?: string;
}
