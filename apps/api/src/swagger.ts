import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_SCHEME, BOOTSTRAP_SCHEME } from '@clincore/auth/access.decorators';
import { documentIdempotency } from '@clincore/idempotency/idempotency.openapi';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ClinCore API')
    .setDescription(
      'Multi-tenant clinical case API. Partners call it with an `X-API-Key`; operators bootstrap tenants with the bootstrap token (bearer). Errors are `application/problem+json` with a `request_id`.',
    )
    .setVersion('0.1.0')
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Tenant API key' },
      API_KEY_SCHEME,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Operator bootstrap token' },
      BOOTSTRAP_SCHEME,
    )
    .build();
  return documentIdempotency(SwaggerModule.createDocument(app, config));
}

/** Swagger UI at /docs, the document at /docs/openapi.json. */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
  });
}
