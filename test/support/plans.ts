/** Rows the plan's scans of `table` read: returned, and read then filtered out. */
export function rowsScanned(plan: unknown, table: string): number {
  let rows = 0;
  const visit = (node: Record<string, unknown>): void => {
    if (node['Relation Name'] === table && String(node['Node Type']).endsWith('Scan')) {
      const loops = Number(node['Actual Loops'] ?? 1);
      // EXPLAIN gives both per loop.
      rows +=
        (Number(node['Actual Rows'] ?? 0) + Number(node['Rows Removed by Filter'] ?? 0)) * loops;
    }
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  for (const entry of plan as Array<{ Plan: Record<string, unknown> }>) visit(entry.Plan);
  return rows;
}
