const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
const MS_PER_HOUR = 60 * MS_PER_MINUTE;
const MS_PER_DAY = 24 * MS_PER_HOUR;

// Years and months follow .NET's XmlConvert.ToTimeSpan (365 and 30 days), which is how
// Service Bus itself reads these values.
const DATE_UNITS: Record<string, number> = {
  Y: 365 * MS_PER_DAY,
  M: 30 * MS_PER_DAY,
  W: 7 * MS_PER_DAY,
  D: MS_PER_DAY,
};
const TIME_UNITS: Record<string, number> = { H: MS_PER_HOUR, M: MS_PER_MINUTE, S: MS_PER_SECOND };

const DURATION_PATTERN =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Parses an ISO-8601 duration such as `PT1M`, `P14D` or `P1DT2H30.5S` into milliseconds.
 * Throws on anything else (negative durations, empty `P`/`PT`, missing `P`, stray text).
 */
export function parseIsoDuration(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  const hasTimePart = text.includes("T");
  const [, years, months, weeks, days, hours, minutes, seconds] = match ?? [];
  const timeFields = [hours, minutes, seconds];
  const allFields = [years, months, weeks, days, ...timeFields];
  if (
    !match ||
    allFields.every((field) => field === undefined) ||
    (hasTimePart && timeFields.every((field) => field === undefined))
  ) {
    throw new Error(`"${text}" is not an ISO-8601 duration (e.g. PT30S, PT1M, P14D)`);
  }
  const parts: Array<[string | undefined, number]> = [
    [years, DATE_UNITS.Y],
    [months, DATE_UNITS.M],
    [weeks, DATE_UNITS.W],
    [days, DATE_UNITS.D],
    [hours, TIME_UNITS.H],
    [minutes, TIME_UNITS.M],
    [seconds, TIME_UNITS.S],
  ];
  return Math.round(
    parts.reduce((total, [value, unitMs]) => total + (value ? Number(value) * unitMs : 0), 0),
  );
}
