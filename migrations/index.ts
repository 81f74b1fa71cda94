import { TenantsAndApiKeys1763900000000 } from './1763900000000-tenants-and-api-keys';

/** Every migration, oldest first. A new migration is appended here. */
export const MIGRATIONS = [TenantsAndApiKeys1763900000000];
