/**
 * A configuration problem found at boot. The message names the variable and
 * what is wrong with it, never its value (it may be a secret).
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}
