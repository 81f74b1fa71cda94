import { jsonDepth } from './json-body';

describe('jsonDepth', () => {
  it.each([
    ['1', 0],
    ['{}', 1],
    ['{"a":[1,{"b":[]}]}', 4],
    ['{"a":"[[[[{{{{"}', 1],
    ['{"a":"\\"[[["}', 1],
    ['[[],[[]],[]]', 3],
  ])('%s nests %i deep', (text, depth) => {
    expect(jsonDepth(Buffer.from(text))).toBe(depth);
  });
});
