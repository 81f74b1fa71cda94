import type { Protocol, ProtocolInputs } from './protocol';

export const GENERIC_MAX_BYTES = 64 * 1024;

/** Any JSON object up to 64 KiB: no score, but stored, chained, signed and replayed like the rest. */
export const genericV1: Protocol<ProtocolInputs, null> = {
  name: 'generic',
  version: '1.0.0',
  description: 'Any JSON object up to 64 KiB; no score',
  fields: null,
  example: { note: 'free text', readings: [1, 2, 3] },
  validate(inputs) {
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
      return { ok: false, errors: { inputs: ['inputs must be a JSON object'] } };
    }
    const size = Buffer.byteLength(JSON.stringify(inputs), 'utf8');
    if (size > GENERIC_MAX_BYTES) {
      return {
        ok: false,
        errors: {
          inputs: [`inputs must be at most ${GENERIC_MAX_BYTES} bytes of JSON (got ${size})`],
        },
      };
    }
    return { ok: true, inputs: inputs as ProtocolInputs };
  },
  score: () => null,
};
