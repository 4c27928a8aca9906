/** The baseline of the cold-start benchmark: the smallest v4 app, one anonymous HTTP function. */
import { app } from "@azure/functions";

app.http("hello", {
  methods: ["GET"],
  authLevel: "anonymous",
  handler: async () => ({ body: "Hello, world" }),
});
