/**
 * How the CLI prints: aligned tables and `name: value` lists for people, JSON for scripts. Nested
 * values never show as raw JSON: arrays of plain values become comma lists, objects become
 * `name: value` lines (indented under their name in a list, one sub-row each in a table).
 */

export type Row = Record<string, unknown>;

const isRecord = (value: unknown): value is Row =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isPlain = (value: unknown): boolean => value === null || typeof value !== "object";

const present = (record: Row, names: string[]) =>
  names.filter((name) => record[name] !== undefined && record[name] !== null);

/** One line for a plain value or an array of plain values; undefined when it needs several. */
function inline(value: unknown): string | undefined {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value) && value.every(isPlain)) return value.map(String).join(", ");
  if (isPlain(value)) return String(value);
  return undefined;
}

/** `name: value` lines for a nested value in a table cell: dotted names, one line each. */
function flatLines(value: unknown, prefix = ""): string[] {
  const text = inline(value);
  if (text !== undefined) return prefix ? [`${prefix}: ${text}`] : text.split("\n");
  if (Array.isArray(value))
    return value.flatMap((item, index) => flatLines(item, prefix ? `${prefix}.${index}` : ""));
  const record = value as Row;
  return present(record, Object.keys(record)).flatMap((name) =>
    flatLines(record[name], prefix ? `${prefix}.${name}` : name),
  );
}

/** Columns padded to their widest line; a cell of several lines makes sub-rows of its row. */
export function table(rows: Row[], columns: string[]): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((row) => columns.map((column) => flatLines(row[column])));
  const widths = columns.map((column, index) =>
    Math.max(
      column.length,
      ...cells.flatMap((row) => (row[index] ?? []).map((line) => line.length)),
    ),
  );
  const line = (values: string[]) =>
    values
      .map((value, index) => value.padEnd(widths[index] ?? 0))
      .join("  ")
      .trimEnd();
  const physicalLines = (row: string[][]) =>
    Array.from({ length: Math.max(1, ...row.map((cell) => cell.length)) }, (_, index) =>
      line(row.map((cell) => cell[index] ?? "")),
    );
  return [
    line(columns),
    line(widths.map((width) => "-".repeat(width))),
    ...cells.flatMap(physicalLines),
  ].join("\n");
}

/** `name: value` lines, names aligned; an object's members follow indented under its name. */
export function fields(record: Row, names: string[] = Object.keys(record), indent = ""): string {
  const shown = present(record, names);
  const width = Math.max(0, ...shown.map((name) => name.length));
  return shown
    .flatMap((name) => {
      const value = record[name];
      const label = `${indent}${`${name}:`.padEnd(width + 1)}`;
      const text = inline(value);
      if (text !== undefined) return [`${label} ${text}`.trimEnd()];
      if (isRecord(value))
        return [`${indent}${name}:`, fields(value, Object.keys(value), `${indent}  `)];
      // An array with objects in it: one "- " item each.
      return [
        `${indent}${name}:`,
        ...(value as unknown[]).map((item) =>
          isRecord(item)
            ? fields(item, Object.keys(item), `${indent}    `).replace(
                `${indent}    `,
                `${indent}  - `,
              )
            : `${indent}  - ${flatLines(item).join(", ")}`,
        ),
      ];
    })
    .join("\n");
}
