import { app } from "@azure/functions";
import { adminRoute } from "../shared/runtime";

app.http(
  "listStores",
  adminRoute({
    route: "stores",
    methods: ["GET"],
    handler: async (_request, { deps, useCases, json }) =>
      json(200, await useCases.listStores(deps)),
  }),
);
