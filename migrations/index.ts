import { TenantsAndApiKeys1763900000000 } from './1763900000000-tenants-and-api-keys';
import { CasesAndEvents1763900100000 } from './1763900100000-cases-and-events';
import { SignaturesAndReplay1763900200000 } from './1763900200000-signatures-and-replay';
import { AuditTrail1763900300000 } from './1763900300000-audit-trail';
import { BillingAndUsage1763900400000 } from './1763900400000-billing-and-usage';
import { AccessLogs1763900500000 } from './1763900500000-access-logs';
import { HotPath1763900600000 } from './1763900600000-hot-path';
import { AccessLogIndex1763900700000 } from './1763900700000-access-log-index';
import { SignedAuditEvents1763900800000 } from './1763900800000-signed-audit-events';
import { KeyedApiKeyHashes1763900900000 } from './1763900900000-keyed-api-key-hashes';
import { AppRolePrivileges1763901000000 } from './1763901000000-app-role-privileges';
import { ApiKeyRevocationOnlySooner1763901100000 } from './1763901100000-api-key-revocation-only-sooner';
import { IdempotencyKeys1763901600000 } from './1763901600000-idempotency-keys';
import { IdempotencyReplaceExpired1763901800000 } from './1763901800000-idempotency-replace-expired';
import { StoreIdempotencyKey1763902000000 } from './1763902000000-store-idempotency-key';
import { WebhookClaimPerEndpoint1763901900000 } from './1763901900000-webhook-claim-per-endpoint';
import { Webhooks1763901700000 } from './1763901700000-webhooks';
import { WebhookDeliveriesWithoutEndpointKey1763902100000 } from './1763902100000-webhook-deliveries-without-endpoint-key';
import { IdempotencyLookupGenericPlan1763902200000 } from './1763902200000-idempotency-lookup-generic-plan';
import { CaseChainCheckPlannedOnce1763902300000 } from './1763902300000-case-chain-check-planned-once';
import { WebhookIndexesOnlyWhereAsked1763902400000 } from './1763902400000-webhook-indexes-only-where-asked';
import { WebhookRetryOnceAndDueLag1763902500000 } from './1763902500000-webhook-retry-once-and-due-lag';
import { WebhookEventSeals1763902600000 } from './1763902600000-webhook-event-seals';
import { AuditEventsByCase1763902700000 } from './1763902700000-audit-events-by-case';

/** Every migration, oldest first. A new migration is appended here. */
export const MIGRATIONS = [
  TenantsAndApiKeys1763900000000,
  CasesAndEvents1763900100000,
  SignaturesAndReplay1763900200000,
  AuditTrail1763900300000,
  BillingAndUsage1763900400000,
  AccessLogs1763900500000,
  HotPath1763900600000,
  AccessLogIndex1763900700000,
  SignedAuditEvents1763900800000,
  KeyedApiKeyHashes1763900900000,
  AppRolePrivileges1763901000000,
  ApiKeyRevocationOnlySooner1763901100000,
  IdempotencyKeys1763901600000,
  Webhooks1763901700000,
  IdempotencyReplaceExpired1763901800000,
  WebhookClaimPerEndpoint1763901900000,
  StoreIdempotencyKey1763902000000,
  WebhookDeliveriesWithoutEndpointKey1763902100000,
  IdempotencyLookupGenericPlan1763902200000,
  CaseChainCheckPlannedOnce1763902300000,
  WebhookIndexesOnlyWhereAsked1763902400000,
  WebhookRetryOnceAndDueLag1763902500000,
  WebhookEventSeals1763902600000,
  AuditEventsByCase1763902700000,
];
