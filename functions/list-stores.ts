import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("listStores", {
  route: "stores",
  methods: ["GET"],
  authLevel: "admin",
  handler: httpHandler(async (_request, { deps, useCases, json }) =>
    json(200, await useCases.listStores(deps)),
  ),
});
