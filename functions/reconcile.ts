import { app } from "@azure/functions";
import { relayConfig, timerHandler } from "../shared/runtime";

/** Makes DM, Power Automate and the relay agree on every open request (CONTRACT 6b). */
app.timer("reconcile", {
  // The validated setting RELAY_RECONCILE_SCHEDULE, so the host is given the schedule itself.
  schedule: relayConfig().reconcile.schedule,
  runOnStartup: false,
  useMonitor: true,
  handler: timerHandler((useCases) => useCases.reconcile),
});
