/**
 * The entry Azure Functions loads. Settings are validated here, at load, so a missing or
 * malformed one stops the app with one line naming it instead of failing the first request.
 */
import { relayConfig } from "../shared/runtime";

relayConfig();

import "./health";
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
import "./decision";
import "./request-status";
import "./list-requests";
import "./redrive";
import "./dispatch";
import "./apply";
import "./console";
