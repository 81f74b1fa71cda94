import { registerAs } from '@nestjs/config';
import { envInt } from '@clincore/common/env';

export interface BillingConfig {
  /** Calls a `free` tenant may make per calendar month (UTC). */
  freeTierCallLimit: number;
}

export function loadBillingConfig(env: NodeJS.ProcessEnv = process.env): BillingConfig {
  return { freeTierCallLimit: envInt(env, 'FREE_TIER_CALL_LIMIT', 1000, 0, 1_000_000_000) };
}

export const billingConfig = registerAs('billing', () => loadBillingConfig());
