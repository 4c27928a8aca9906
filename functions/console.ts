import { app } from "@azure/functions";
import path from "node:path";
import { CONSOLE_ASSETS_FOLDER, serveConsole } from "../console/serve";
import { relayConfig } from "../shared/runtime";

/**
 * The web console's page, scripts and `config.json`: anonymous, since the page signs in itself and
 * then calls the admin routes with the admin's token or key. Built next to this bundle
 * (`dist/console-assets`), or for local work next to `functions/` in the repository.
 */
const ASSETS_DIR = path.resolve(__dirname, "..", CONSOLE_ASSETS_FOLDER);

app.http("console", {
  route: "console/{*path}",
  methods: ["GET"],
  authLevel: "anonymous",
  handler: async (request) =>
    serveConsole(
      {
        path: request.params.path,
        urlPath: new URL(request.url).pathname,
        acceptEncoding: request.headers.get("accept-encoding"),
      },
      relayConfig(),
      ASSETS_DIR,
    ),
});
