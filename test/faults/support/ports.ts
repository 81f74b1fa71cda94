export { freePort } from '@clincore/database/embedded-postgres.launcher';

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
