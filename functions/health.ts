import { app } from "@azure/functions";
import { httpHandler } from "../shared/runtime";

app.http("health", {
  route: "health",
  methods: ["GET"],
  authLevel: "anonymous",
  handler: httpHandler(async (_request, { deps, useCases, json }) => {
    const report = await useCases.checkHealth(deps);
    return json(report.status === "healthy" ? 200 : 503, report);
  }),
});
