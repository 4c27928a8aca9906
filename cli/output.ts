/** How the CLI prints: aligned tables and key/value lists for people, JSON for scripts. */

export type Row = Record<string, unknown>;

const cell = (value: unknown): string =>
  value === undefined || value === null
    ? ""
    : typeof value === "object"
      ? JSON.stringify(value)
      : String(value);

/** Columns padded to their widest cell, a header line and a rule. */
export function table(rows: Row[], columns: string[]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, index) =>
    Math.max(column.length, ...cells.map((line) => line[index]?.length ?? 0)),
  );
  const line = (values: string[]) =>
    values
      .map((value, index) => value.padEnd(widths[index] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(columns), line(widths.map((width) => "-".repeat(width))), ...cells.map(line)].join(
    "\n",
  );
}

/** `name: value` lines, names aligned, for one record. */
export function fields(record: Row, names: string[] = Object.keys(record)): string {
  const present = names.filter((name) => record[name] !== undefined);
  const width = Math.max(0, ...present.map((name) => name.length));
  return present.map((name) => `${`${name}:`.padEnd(width + 1)} ${cell(record[name])}`).join("\n");
}
