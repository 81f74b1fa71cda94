/**
 * What a developer at a terminal needs first: where the API and Swagger UI
 * are, and where the bootstrap token is kept. The file's path, never the
 * token: terminals are shared, recorded and scrolled back.
 */
export function startBanner(url: string, developmentTokenFile: string | undefined): string {
  const token = developmentTokenFile ? `kept in ${developmentTokenFile}` : 'from BOOTSTRAP_TOKEN';
  return [
    '',
    `  ClinCore API      ${url}`,
    `  Swagger UI        ${url}/docs`,
    `  Bootstrap token   ${token}`,
    '',
    '',
  ].join('\n');
}
