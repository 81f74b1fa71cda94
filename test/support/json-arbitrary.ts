import fc from 'fast-check';

/** Every name on Object.prototype that JSON may carry as a member name. */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).filter(
  (name) => name !== '__proto__' && name !== 'constructor',
);

/** Member names as a partner's systems might send them: any text, Object.prototype's names above all. */
const memberName = fc
  .oneof(
    { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  )
  .filter(
    (name) => !['__proto__', 'constructor', 'prototype'].includes(name) && !name.includes('\0'),
  );

const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\0'));

/** JSON objects with odd names and values at any depth (small enough for generic's 64 KiB). */
export const { object: jsonObject } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    tie('object'),
  ),
  object: fc.dictionary(memberName, tie('value'), { maxKeys: 5 }),
}));
