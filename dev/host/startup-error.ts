/**
 * An error that stops the host before it serves anything. Its message is printed as the only line
 * on stderr (no stack), so it must say what is wrong on its own, e.g. which setting is missing.
 */
export class StartupError extends Error {
  override name = "StartupError";
}

/** The first line of an error's message, so any failure can be reported as one stderr line. */
export function oneLineMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\r?\n/, 1)[0]?.trim() || "Unknown error";
}
