/**
 * The relay's HTTP functions alone, as Flex Consumption runs them: on instances of their own,
 * apart from each Service Bus function (per-function scaling). The bench's ingest host loads this
 * entry instead of functions/index.ts, so the trigger's figures are the HTTP instance's own.
 */
import { relayConfig } from "../shared/runtime";

relayConfig();

import "../functions/health";
import "../functions/register-store";
import "../functions/link-workflow";
import "../functions/trigger";
import "../functions/claim";
import "../functions/decision";
import "../functions/request-status";
