/** Log lines carry the request's ids as fields, and never a secret. */
export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  with(fields: LogFields): Logger;
}

export interface LogSink {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

const SECRET_PATTERNS: [RegExp, string][] = [
  [/([?&](?:sig|code|key|token)=)[^&\s"']+/gi, "$1REDACTED"],
  [/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, "$1REDACTED"],
  [/\bv1\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/g, "REDACTED-TOKEN"],
  [/((?:AccountKey|SharedAccessKey|password|client_secret)=)[^;&\s"']+/gi, "$1REDACTED"],
];

/** Scrubs anything shaped like a credential: a second line of defence behind careful callers. */
export function redact(text: string): string {
  return SECRET_PATTERNS.reduce(
    (out, [pattern, replacement]) => out.replace(pattern, replacement),
    text,
  );
}

export function createLogger(sink: LogSink, fields: LogFields = {}): Logger {
  const format = (message: string, extra?: LogFields): string => {
    const all = { ...fields, ...extra };
    const context = Object.entries(all)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${value}`)
      .join(" ");
    return redact(context ? `${message} [${context}]` : message);
  };
  return {
    info: (message, extra) => sink.info(format(message, extra)),
    warn: (message, extra) => sink.warn(format(message, extra)),
    error: (message, extra) => sink.error(format(message, extra)),
    with: (extra) => createLogger(sink, { ...fields, ...extra }),
  };
}
