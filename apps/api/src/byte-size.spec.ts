import { describeBytes } from './byte-size';

describe('describeBytes', () => {
  it.each([
    [1000, '1000 bytes'],
    [1024, '1024 bytes (1 KiB)'],
    [262_144, '262144 bytes (256 KiB)'],
    [100_000, '100000 bytes (97.7 KiB)'],
    [16 * 1024 * 1024, '16777216 bytes (16 MiB)'],
  ])('%d is %s', (bytes, text) => {
    expect(describeBytes(bytes)).toBe(text);
  });
});
