import { app } from "@azure/functions";
import { checkHealth } from "../shared/app/health";
import { httpHandler } from "../shared/http/handler";
import { json } from "../shared/http/responses";

app.http("health", {
  route: "health",
  methods: ["GET"],
  authLevel: "anonymous",
  handler: httpHandler(async (_request, deps) => {
    const report = await checkHealth(deps);
    return json(report.status === "healthy" ? 200 : 503, report);
  }),
});
