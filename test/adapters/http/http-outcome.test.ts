import { parseRetryAfter, sanitizedSnippet } from "../../../shared/adapters/http-outcome";

describe("Retry-After", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");

  it.each<[string | undefined, number | undefined]>([
    ["120", 120_000],
    [" 0 ", 0],
    ["Thu, 01 Jan 2026 00:00:30 GMT", 30_000],
    ["Wed, 31 Dec 2025 23:59:00 GMT", 0],
    ["-5", undefined],
    ["soon", undefined],
    ["", undefined],
    [undefined, undefined],
  ])("reads %p as %p ms", (header, expected) => {
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});

describe("sanitised snippets", () => {
  it.each([
    ["a URL's query", "at https://h.example/p/invoke?api-version=1&sig=SECRET now", "SECRET"],
    ["a bare sig", "bad sig=SECRET&sp=x", "SECRET"],
    ["a bearer token", "Authorization: Bearer SECRET", "SECRET"],
    ["a JWT", "token eyJhbGciOi.eyJzdWIiOiJ4In0.SECRET", "SECRET"],
    ["a JSON password", '{"password": "SECRET", "user": "u"}', "SECRET"],
  ])("mask %s", (_case, text, secret) => {
    expect(sanitizedSnippet(text)).not.toContain(secret);
  });

  it("collapses control characters and whitespace and cuts long text short", () => {
    const snippet = sanitizedSnippet(`a\r\n\tb\u0000c ${"x".repeat(500)}`, 20);

    expect(snippet).toBe(`a b c ${"x".repeat(13)}…`);
  });
});
