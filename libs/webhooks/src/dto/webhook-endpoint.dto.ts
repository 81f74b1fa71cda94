import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
} from 'class-validator';
import { OptionalNotNull } from '@clincore/common/optional-not-null.validator';
import { CodePointLength } from '@clincore/common/code-point-length.validator';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhook-event-types';

export type WebhookEndpointStatus = 'enabled' | 'disabled';

const URL_DESCRIPTION =
  'Where events are POSTed: https (http is accepted outside production). In production, ' +
  'loopback, private, link-local and reserved addresses are refused, at registration and ' +
  'again before every connection.';

@ApiSchema({ name: 'CreateWebhookEndpoint' })
export class CreateWebhookEndpointDto {
  @ApiProperty({
    example: 'https://partner.example/clincore/webhooks',
    maxLength: 2048,
    description: URL_DESCRIPTION,
  })
  @IsString()
  @CodePointLength(1, 2048)
  url!: string;

  @ApiProperty({
    type: [String],
    enum: WEBHOOK_EVENT_TYPES,
    example: ['case.finalized', 'case.verified'],
    minItems: 1,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  events!: WebhookEventType[];

  @ApiPropertyOptional({ example: 'Ward dashboard', maxLength: 500 })
  @IsOptional()
  @IsString()
  @CodePointLength(0, 500)
  description?: string;
}

@ApiSchema({ name: 'UpdateWebhookEndpoint' })
export class UpdateWebhookEndpointDto {
  @ApiPropertyOptional({
    example: 'https://partner.example/clincore/webhooks',
    maxLength: 2048,
    description: URL_DESCRIPTION,
  })
  @OptionalNotNull()
  @IsString()
  @CodePointLength(1, 2048)
  url?: string;

  @ApiPropertyOptional({ type: [String], enum: WEBHOOK_EVENT_TYPES, minItems: 1 })
  @OptionalNotNull()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true })
  events?: WebhookEventType[];

  @ApiPropertyOptional({
    example: 'Ward dashboard',
    maxLength: 500,
    nullable: true,
    type: String,
    description: 'null clears it',
  })
  @IsOptional()
  @IsString()
  @CodePointLength(0, 500)
  description?: string | null;

  @ApiPropertyOptional({
    enum: ['enabled', 'disabled'],
    description:
      'disabled: no new event is queued for it and pending deliveries wait; enabled again, they go out in order',
  })
  @OptionalNotNull()
  @IsIn(['enabled', 'disabled'])
  status?: WebhookEndpointStatus;
}

/** An endpoint as listed: never its secret. */
@ApiSchema({ name: 'WebhookEndpoint' })
export class WebhookEndpointDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'https://partner.example/clincore/webhooks' })
  url!: string;

  @ApiProperty({ type: [String], enum: WEBHOOK_EVENT_TYPES })
  events!: WebhookEventType[];

  @ApiProperty({ nullable: true, type: String })
  description!: string | null;

  @ApiProperty({
    enum: ['enabled', 'disabled'],
    description: 'An endpoint failing for five days running is disabled by the server (audited)',
  })
  status!: WebhookEndpointStatus;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description:
      'Until when the secret replaced by the last rotation still signs beside the new one; null when none does (never rotated, or its grace has ended)',
  })
  previous_secret_expires_at!: string | null;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'First failed attempt since the last success; null while deliveries succeed',
  })
  failing_since!: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ format: 'date-time' })
  updated_at!: string;
}

@ApiSchema({ name: 'WebhookEndpointWithSecret' })
export class WebhookEndpointWithSecretDto extends WebhookEndpointDto {
  @ApiProperty({
    description:
      'The signing secret (Standard Webhooks): shown in this response only, and in its replay to a retry with the same Idempotency-Key',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7jQ8A0EaRZk=',
  })
  secret!: string;
}

@ApiSchema({ name: 'WebhookEndpointList' })
export class WebhookEndpointListDto {
  @ApiProperty({ type: [WebhookEndpointDto] })
  items!: WebhookEndpointDto[];
}
