/**
 * Base of every module's exception. A module throws its own subclass with a code
 * from its own enum; the API's problem-details filter maps each code to an HTTP
 * status with an exhaustive switch, so a new code cannot ship without a status.
 */
export abstract class DomainException<Code extends string = string> extends Error {
  protected constructor(
    readonly code: Code,
    message: string,
    /** Per-field messages for 400s, keyed by the JSON field name. */
    readonly fieldErrors?: Record<string, string[]>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
