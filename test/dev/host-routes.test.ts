import { compareRouteSpecificity, compileRoute, splitPath } from "../../dev/host/routes";

function match(template: string, path: string): Record<string, string> | null {
  return compileRoute(template).match(splitPath(path));
}

describe("local host route templates", () => {
  it("matches parameters, and literals case-insensitively", () => {
    expect(
      match("stores/{storeId}/workflows/{workflowId}/trigger", "Stores/s1/workflows/w-9/TRIGGER"),
    ).toEqual({
      storeId: "s1",
      workflowId: "w-9",
    });
    expect(
      match("stores/{storeId}/workflows/{workflowId}/trigger", "stores/s1/workflows/w-9"),
    ).toBeNull();
    expect(match("stores/{storeId}", "stores/s1/extra")).toBeNull();
  });

  it("applies constraints, optional trailing segments, catch-alls and mixed segments", () => {
    expect(match("items/{id:int}", "items/12")).toEqual({ id: "12" });
    expect(match("items/{id:int}", "items/twelve")).toBeNull();
    expect(match("requests/{status?}", "requests")).toEqual({});
    expect(match("requests/{status?}", "requests/pending")).toEqual({ status: "pending" });
    expect(match("files/{*path}", "files/a/b/c.txt")).toEqual({ path: "a/b/c.txt" });
    expect(match("files/{name}.{ext}", "files/report.pdf")).toEqual({ name: "report", ext: "pdf" });
  });

  it("rejects templates it cannot honour instead of ignoring parts of them", () => {
    expect(() => compileRoute("items/{id:regex(^a$)}")).toThrow(/Unsupported parameter/);
    expect(() => compileRoute("items/{id:length}")).toThrow(/Unsupported constraint "length"/);
    expect(() => compileRoute("{*rest}/items")).toThrow(/last segment/);
    expect(() => compileRoute("a/{b?}/c")).toThrow(/Optional parameters must come last/);
  });

  it("orders literal segments before parameters and catch-alls", () => {
    const templates = ["items/{*rest}", "items/{id}", "items/{id:int}", "items/new"];
    const ordered = templates
      .map(compileRoute)
      .sort(compareRouteSpecificity)
      .map((r) => r.template);
    expect(ordered).toEqual(["items/new", "items/{id:int}", "items/{id}", "items/{*rest}"]);
  });
});
