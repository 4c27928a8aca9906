/**
 * Table Storage refuses `/ \ # ?` and control characters in PartitionKey and RowKey, and keys
 * over 1 KiB. Callers validate ids against the contract first; this is the last line of defense,
 * so a bad id fails here instead of reaching the service.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN_KEY_CHARACTERS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;
/** 1 KiB of UTF-16. */
const MAX_KEY_CHARS = 512;

export class InvalidTableKeyError extends Error {
  constructor(keyName: string) {
    super(
      `${keyName} cannot be a Table Storage key: it is empty, longer than ${MAX_KEY_CHARS} ` +
        "characters, or contains / \\ # ? or a control character",
    );
    this.name = "InvalidTableKeyError";
  }
}

/** The value itself, or an InvalidTableKeyError naming `keyName` (never echoing the value). */
export function tableKey(keyName: string, value: string): string {
  if (value.length === 0 || value.length > MAX_KEY_CHARS || FORBIDDEN_KEY_CHARACTERS.test(value)) {
    throw new InvalidTableKeyError(keyName);
  }
  return value;
}
