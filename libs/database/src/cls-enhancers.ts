import type { DynamicModule, Provider } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';

function isGlobalEnhancer(provider: Provider): boolean {
  return (
    typeof provider === 'object' &&
    (provider.provide === APP_GUARD || provider.provide === APP_INTERCEPTOR)
  );
}

/**
 * nestjs-cls registers a global guard and a global interceptor even when
 * neither is mounted (here the context opens in its middleware); they are
 * no-ops then. A no-op still costs: one global interceptor makes Nest run
 * every request through an RxJS pipeline, the only one left once our own
 * enhancers are guards. This drops them from the module `ClsModule.forRoot`
 * returns. Only for a CLS set up with its middleware.
 */
export function withoutUnmountedClsEnhancers(module: DynamicModule): DynamicModule {
  const imports = module.imports?.map((imported) => {
    if (
      typeof imported !== 'object' ||
      !('module' in imported) ||
      imported.module.name !== 'ClsRootModule' ||
      imported.providers === undefined
    )
      return imported;
    return { ...imported, providers: imported.providers.filter((p) => !isGlobalEnhancer(p)) };
  });
  return { ...module, imports };
}
