import fc from "fast-check";
import { requestIdSchema, storeIdSchema, workflowIdSchema } from "../../shared/domain/ids";
import {
  canonicalJson,
  readJsonPointer,
  resolveRequestId,
} from "../../shared/domain/trigger-payload";

// Control characters are exactly what Table keys forbid.
// eslint-disable-next-line no-control-regex
const TABLE_FORBIDDEN = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

describe("identifiers", () => {
  it("accept exactly the CONTRACT patterns and never a character Table keys forbid", () => {
    const cases = [
      [storeIdSchema, /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/],
      [workflowIdSchema, /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/],
      [requestIdSchema, /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/],
    ] as const;
    for (const [schema, pattern] of cases)
      fc.assert(
        fc.property(
          fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(pattern)),
          (value) => {
            const ok = schema.safeParse(value).success;
            expect(ok).toBe(pattern.test(value));
            if (ok) expect(TABLE_FORBIDDEN.test(value)).toBe(false);
          },
        ),
      );
  });

  it("accepts GUIDs as workflow ids and refuses path tricks", () => {
    expect(workflowIdSchema.safeParse("3f2504e0-4f89-11d3-9a0c-0305e82c3301").success).toBe(true);
    for (const bad of ["", "../x", "a/b", "a?b", "a#b", "-a", "a".repeat(129)])
      expect(workflowIdSchema.safeParse(bad).success).toBe(false);
  });
});

describe("request id from DM's document", () => {
  it("takes the first pointer holding a string or number", () => {
    expect(resolveRequestId({ id: "z", RequestID: 42 }, "w")).toEqual({
      ok: true,
      value: { requestId: "42", derived: false },
    });
    expect(resolveRequestId({ request: { id: "r-1" } }, "w")).toEqual({
      ok: true,
      value: { requestId: "r-1", derived: false },
    });
    expect(resolveRequestId({ workflowRequestId: { x: 1 }, id: "x" }, "w")).toEqual({
      ok: true,
      value: { requestId: "x", derived: false },
    });
  });

  it("uses the link's pointer when one is set", () => {
    expect(resolveRequestId({ data: { "a/b": 7 }, id: "no" }, "w", "/data/a~1b")).toEqual({
      ok: true,
      value: { requestId: "7", derived: false },
    });
  });

  it("refuses an id that breaks the pattern, naming where it was found", () => {
    expect(resolveRequestId({ requestId: "bad/id" }, "w")).toEqual({
      ok: false,
      errors: [{ path: "/requestId", message: "is not a valid request id (CONTRACT identifiers)" }],
    });
  });

  it("derives the same valid id for the same document whatever its key order, and a different one otherwise", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1 }).filter((k) => !/^(id|.*[Rr]equest[Ii][dD])$/.test(k)),
          fc.jsonValue(),
        ),
        fc.string({ minLength: 1, maxLength: 20 }),
        (doc, extra) => {
          const reversed = Object.fromEntries(Object.entries(doc).reverse());
          const a = resolveRequestId(doc, "w");
          const b = resolveRequestId(reversed, "w");
          expect(a).toEqual(b);
          expect(a.ok && requestIdSchema.safeParse(a.value.requestId).success).toBe(true);
          const other = resolveRequestId({ ...doc, ["__extra" + extra]: 1 }, "w");
          expect(other.ok && a.ok && other.value.requestId !== a.value.requestId).toBe(true);
          expect(resolveRequestId(doc, "other-workflow")).not.toEqual(a);
        },
      ),
    );
  });

  it("reads JSON pointers per RFC 6901", () => {
    const doc = { "a~b": { "c/d": [10, 20] } };
    expect(readJsonPointer(doc, "/a~0b/c~1d/1")).toBe(20);
    expect(readJsonPointer(doc, "/missing")).toBeUndefined();
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });

  it("writes canonical JSON exactly as the first, recursive version did, so derived ids stay the same", () => {
    const recursive = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map(recursive).join(",")}]`;
      if (value !== null && typeof value === "object")
        return `{${Object.keys(value)
          .sort()
          .map(
            (key) => `${JSON.stringify(key)}:${recursive((value as Record<string, unknown>)[key])}`,
          )
          .join(",")}}`;
      return JSON.stringify(value);
    };
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(recursive(value));
      }),
      { numRuns: 500 },
    );
    expect(
      resolveRequestId({ requester: "bob@contoso.com", group: "Finance" }, "group-join"),
    ).toEqual({
      ok: true,
      value: { requestId: "sha256-70ce13432336ed8d04bafb5e399471be5a952471", derived: true },
    });
  });

  // Deeper than any recursive walk (JSON.stringify included) gets on Node's default stack.
  it("derives a stable id for documents nested 10,000 deep, whatever their key order", () => {
    const depth = 10_000;
    const nested = (inner: unknown, wrap: (v: unknown) => unknown) => {
      let value = inner;
      for (let level = 0; level < depth; level++) value = wrap(value);
      return value;
    };
    const arrays = JSON.parse(`{"a":${"[".repeat(depth)}1${"]".repeat(depth)},"b":2}`);
    const objects = {
      b: 2,
      a: nested({ y: 1, x: 2 }, (v) => ({ k: v, j: [v === null] })),
    };
    const reordered = { a: nested({ x: 2, y: 1 }, (v) => ({ j: [v === null], k: v })), b: 2 };
    for (const doc of [arrays, objects]) {
      const first = resolveRequestId(doc as Record<string, unknown>, "w");
      expect(first.ok && first.value.derived).toBe(true);
      expect(resolveRequestId(doc as Record<string, unknown>, "w")).toEqual(first);
    }
    expect(resolveRequestId(reordered, "w")).toEqual(resolveRequestId(objects, "w"));
    expect(readJsonPointer(arrays, "/a/0/0/0")).toEqual(expect.any(Array));
  });
});
