import { app } from "@azure/functions";
import { healthHandler } from "../shared/runtime";

app.http("health", {
  route: "health",
  methods: ["GET"],
  authLevel: "anonymous",
  handler: healthHandler(),
});
