const RAW_JSON_PROPERTIES = Symbol('clincore:raw-json-properties');

/**
 * Marks a DTO property that holds client JSON as it was sent (a case's
 * inputs): the validation pipe hands it to the handler untouched, member for
 * member. class-transformer would copy it, slowly, and drop members named
 * like Object.prototype's (toString, valueOf, hasOwnProperty…).
 */
export function RawJson(): PropertyDecorator {
  return (target, property) => {
    if (typeof property !== 'string') throw new Error('@RawJson() needs a string property name');
    const owner = target.constructor;
    const own: string[] = Object.hasOwn(owner, RAW_JSON_PROPERTIES)
      ? (Reflect.get(owner, RAW_JSON_PROPERTIES) as string[])
      : [...rawJsonProperties(owner)];
    Object.defineProperty(owner, RAW_JSON_PROPERTIES, { value: [...own, property] });
  };
}

/** The properties of a DTO class (and its parents) marked with @RawJson(). */
export function rawJsonProperties(type: unknown): readonly string[] {
  if (typeof type !== 'function') return [];
  return (Reflect.get(type, RAW_JSON_PROPERTIES) as string[] | undefined) ?? [];
}
