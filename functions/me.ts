import { app } from "@azure/functions";
import { adminRoute, relayConfig } from "../shared/runtime";

/** Who the caller is and what they may do: the web console hides what a reader may not use. */
app.http(
  "me",
  adminRoute({
    route: "me",
    methods: ["GET"],
    handler: async (_request, { caller, json }) =>
      json(200, { mode: relayConfig().adminAuth.mode, ...caller }),
  }),
);
