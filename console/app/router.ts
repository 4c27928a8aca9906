/**
 * The console's pages as URL fragments (`#/requests/contoso/2001`), so a page can be bookmarked,
 * shared and reloaded, and the function app serves a single file.
 */
import { useEffect, useState } from "react";
import { REQUEST_STATES, type RequestState } from "./api";

export interface RequestFilters {
  storeId?: string;
  state?: RequestState;
  /** Part of a request id. */
  id?: string;
  page?: number;
}

export type Route =
  | { page: "overview" }
  | { page: "stores"; storeId?: string }
  | { page: "requests"; filters: RequestFilters }
  | { page: "request"; storeId: string; requestId: string }
  | { page: "health" };

export function parseRoute(hash: string): Route {
  const [pathPart = "", queryPart = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const [page, ...rest] = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(queryPart);
  switch (page) {
    case "stores":
      return { page: "stores", ...(rest[0] && { storeId: rest[0] }) };
    case "requests": {
      if (rest[0] && rest[1]) return { page: "request", storeId: rest[0], requestId: rest[1] };
      const state = query.get("state");
      const pageNumber = Number(query.get("page"));
      return {
        page: "requests",
        filters: {
          ...(query.get("store") && { storeId: query.get("store") as string }),
          ...(REQUEST_STATES.includes(state as RequestState) && { state: state as RequestState }),
          ...(query.get("id") && { id: query.get("id") as string }),
          ...(Number.isInteger(pageNumber) && pageNumber > 1 && { page: pageNumber }),
        },
      };
    }
    case "health":
      return { page: "health" };
    default:
      return { page: "overview" };
  }
}

export function href(route: Route): string {
  const segment = encodeURIComponent;
  switch (route.page) {
    case "overview":
      return "#/";
    case "stores":
      return route.storeId ? `#/stores/${segment(route.storeId)}` : "#/stores";
    case "requests": {
      const { storeId, state, id, page } = route.filters;
      const query = new URLSearchParams();
      if (storeId) query.set("store", storeId);
      if (state) query.set("state", state);
      if (id) query.set("id", id);
      if (page && page > 1) query.set("page", String(page));
      const text = query.toString();
      return text ? `#/requests?${text}` : "#/requests";
    }
    case "request":
      return `#/requests/${segment(route.storeId)}/${segment(route.requestId)}`;
    case "health":
      return "#/health";
  }
}

export function navigate(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(location.hash));
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}
