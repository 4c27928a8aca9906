import fc from "fast-check";
import {
  COMMENTS_CUT_NOTE,
  MAX_COMMENTS_LENGTH,
  denialReason,
  normaliseDecision,
} from "../../shared/domain/decision";

const at = new Date("2026-11-28T10:00:00Z");
const OUTCOMES: [string, string][] = [
  ["Approve", "approved"],
  ["Approved", "approved"],
  ["Reject", "denied"],
  ["Rejected", "denied"],
  ["Deny", "denied"],
  ["Denied", "denied"],
];

/** Random upper/lower case of a word. */
const anyCase = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((flags) =>
      [...word].map((c, i) => (flags[i] ? c.toUpperCase() : c.toLowerCase())).join(""),
    );

describe("decision normalisation", () => {
  it("maps every accepted outcome spelling, in any case, in both body shapes", () => {
    fc.assert(
      fc.property(fc.constantFrom(...OUTCOMES), fc.boolean(), (pair, approvalsShape) =>
        fc.assert(
          fc.property(anyCase(pair[0]), (spelling) => {
            const body = approvalsShape
              ? {
                  outcome: spelling,
                  responses: [
                    {
                      responder: { email: "a@contoso.com" },
                      comments: "c",
                      responseDate: "2026-11-28T09:00:00Z",
                    },
                  ],
                }
              : {
                  outcome: spelling,
                  approver: { email: "a@contoso.com" },
                  comments: "c",
                  respondedAt: "2026-11-28T09:00:00Z",
                };
            const result = normaliseDecision(body, at);
            expect(result).toEqual({
              ok: true,
              value: {
                outcome: pair[1],
                approver: { email: "a@contoso.com" },
                comments: "c",
                respondedAt: "2026-11-28T09:00:00Z",
                recordedAt: at.toISOString(),
              },
            });
          }),
          { numRuns: 20 },
        ),
      ),
      { numRuns: 30 },
    );
  });

  it("refuses any other outcome, naming the field", () => {
    fc.assert(
      fc.property(
        fc
          .oneof(
            fc.string(),
            fc.constantFrom("constructor", "__proto__", "toString", "hasOwnProperty"),
          )
          .filter((s) => !OUTCOMES.some(([o]) => o.toLowerCase() === s.toLowerCase())),
        (outcome) => {
          const result = normaliseDecision({ outcome }, at);
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.errors[0]?.path).toBe("/outcome");
        },
      ),
    );
  });

  it("refuses bodies that are not objects or lack an outcome", () => {
    for (const body of [null, 42, "Approve", [], {}, { outcome: 1 }])
      expect(normaliseDecision(body, at).ok).toBe(false);
  });

  it("reads the deciding responder of a Start-and-wait-for-an-approval output", () => {
    const output = {
      outcome: "Reject",
      responses: [
        {
          responder: { email: "b@contoso.com", displayName: "B" },
          approverResponse: "Approve",
          comments: "fine",
          responseDate: "2026-11-28T08:00:00Z",
        },
        {
          responder: { email: "c@contoso.com", displayName: "C", id: "x" },
          approverResponse: "Reject",
          comments: "no budget",
          responseDate: "2026-11-28T09:00:00Z",
        },
      ],
      name: "approval-1",
    };
    const result = normaliseDecision(output, at);
    expect(result.ok && result.value).toMatchObject({
      outcome: "denied",
      approver: { email: "c@contoso.com", displayName: "C" },
      comments: "no budget",
    });
  });

  it("builds DM's denial reason from the comments, else the approver", () => {
    expect(denialReason({ outcome: "denied", comments: " no ", recordedAt: "" })).toBe("no");
    expect(
      denialReason({ outcome: "denied", approver: { email: "a@x.com" }, recordedAt: "" }),
    ).toBe("Denied in Power Automate by a@x.com");
  });

  it("keeps a decision whose comments are too long, cutting them to 4,000 characters with a note", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 6000 }),
        fc.boolean(),
        (comments, ownShape) => {
          const body = ownShape
            ? { outcome: "Reject", comments }
            : { outcome: "Rejected", responses: [{ approverResponse: "Reject", comments }] };
          const parsed = normaliseDecision(body, at);
          expect(parsed.ok).toBe(true);
          const kept = parsed.ok ? (parsed.value.comments ?? "") : "";
          expect(kept.length).toBeLessThanOrEqual(MAX_COMMENTS_LENGTH);
          if (comments.length <= MAX_COMMENTS_LENGTH) expect(kept).toBe(comments);
          else {
            expect(kept.endsWith(COMMENTS_CUT_NOTE)).toBe(true);
            expect(comments.startsWith(kept.slice(0, -COMMENTS_CUT_NOTE.length))).toBe(true);
            // A cut never leaves half of a surrogate pair behind.
            expect(kept).toBe(Buffer.from(kept, "utf8").toString("utf8"));
          }
        },
      ),
      { numRuns: 200 },
    );
    const huge = normaliseDecision({ outcome: "Deny", comments: "x".repeat(1_000_000) }, at);
    expect(huge.ok && huge.value.comments?.length).toBe(MAX_COMMENTS_LENGTH);
  });

  it("reads the approver only from the responder's own fields", () => {
    const body = JSON.parse(
      '{"outcome":"Approve","responses":[{"responder":{"__proto__":{"email":{"not":"text"}}}}]}',
    );
    expect(normaliseDecision(body, at)).toEqual({
      ok: true,
      value: { outcome: "approved", recordedAt: at.toISOString() },
    });
  });
});
