import type { BenchmarkScenario } from "../scenario.js";
import { copyDocument } from "./copy-document.js";
import { dependentLoop } from "./dependent-loop.js";
import { filterListing } from "./filter-listing.js";
import { manyServers } from "./many-servers.js";
import { scanLogs } from "./scan-logs.js";
import { sentryTriage } from "./sentry-triage.js";
import { sqlExport } from "./sql-export.js";
import { sqlReconcile } from "./sql-reconcile.js";

/**
 * Every benchmark scenario, in the order they run. Add a scenario by importing it and
 * appending it to this list (one line each).
 */
export const scenarios: BenchmarkScenario[] = [
  copyDocument,
  filterListing,
  dependentLoop,
  manyServers,
  sentryTriage,
  scanLogs,
  sqlReconcile,
  sqlExport,
];
