import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

/** The OpenAPI 3.1 document of the relay's HTTP API, naming this relay as its server. */
app.http("openapi", {
  route: "openapi.json",
  methods: ["GET"],
  authLevel: "anonymous",
  handler: httpHandler(async (_request, { deps, useCases, json }) =>
    json(200, useCases.openApiDocument(deps.settings.publicBaseUrl)),
  ),
});
