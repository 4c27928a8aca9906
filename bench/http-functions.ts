/**
 * The relay's HTTP functions alone, as Flex Consumption runs them: on instances of their own,
 * apart from each Service Bus function (per-function scaling). The bench's ingest host loads this
 * entry instead of functions/index.ts, so the trigger's figures are the HTTP instance's own.
 * It also holds bench/host-baseline.ts, the relay's durable minimum as a function of this host.
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
// Not the relay's: its durable minimum on this same host, measured beside the trigger.
import "./host-baseline";
