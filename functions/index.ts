/**
 * The entry Azure Functions loads. Settings are validated here, at load, so a missing or
 * malformed one stops the app with one line naming it instead of failing the first request.
 */
import { relayConfig } from "../shared/runtime";

relayConfig();

import "./health";
import "./openapi";
import "./register-store";
import "./get-store";
import "./list-stores";
import "./link-workflow";
import "./get-link";
import "./list-workflows";
import "./unlink-workflow";
import "./flow-template";
import "./create-flow";
import "./trigger";
import "./claim";
import "./decision";
import "./request-status";
import "./list-requests";
import "./redrive";
import "./me";
import "./dispatch";
import "./apply";
import "./reconcile";
import "./console";
