import {
  DURATION_BUCKETS_SECONDS,
  Instruments,
  METER_NAME,
  SESSION_DURATION_BUCKETS_SECONDS,
} from "@mcp-optimizer/core";
import { AggregationType, type ViewOptions } from "@opentelemetry/sdk-metrics";

/**
 * Views for the optimizer's instruments, for a host that runs its own OpenTelemetry SDK:
 * pins the seconds buckets of its duration histograms (1 ms to 60 s), which an SDK that
 * ignores instrument advice would otherwise replace with millisecond-sized defaults.
 * `startTelemetry` adds them itself.
 */
export function createOptimizerMeterViews(): ViewOptions[] {
  const view = (instrumentName: string, buckets: readonly number[]): ViewOptions => ({
    meterName: METER_NAME,
    instrumentName,
    aggregation: {
      type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
      options: { boundaries: [...buckets] },
    },
  });
  return [
    view(Instruments.executionDuration, DURATION_BUCKETS_SECONDS),
    view(Instruments.mcpClientOperationDuration, DURATION_BUCKETS_SECONDS),
    view(Instruments.sessionStoreDuration, DURATION_BUCKETS_SECONDS),
    view(Instruments.mcpServerOperationDuration, DURATION_BUCKETS_SECONDS),
    view(Instruments.mcpServerSessionDuration, SESSION_DURATION_BUCKETS_SECONDS),
  ];
}
