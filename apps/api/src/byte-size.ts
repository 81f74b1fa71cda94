const UNITS = ['KiB', 'MiB', 'GiB'] as const;

/** A size as a partner reads a limit: "262144 bytes (256 KiB)", exact first, then rounded. */
export function describeBytes(bytes: number): string {
  let size = bytes;
  let unit: string | undefined;
  for (const next of UNITS) {
    if (size < 1024) break;
    size /= 1024;
    unit = next;
  }
  const exact = `${String(bytes)} bytes`;
  return unit === undefined ? exact : `${exact} (${String(Math.round(size * 10) / 10)} ${unit})`;
}
