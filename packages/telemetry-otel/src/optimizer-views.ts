import { DURATION_BUCKETS_SECONDS, Instruments, METER_NAME } from "@mcp-optimizer/core";
import { AggregationType, type ViewOptions } from "@opentelemetry/sdk-metrics";

/**
 * Views for the optimizer's instruments, for a host that runs its own OpenTelemetry SDK:
 * pins the seconds buckets of its duration histograms (1 ms to 60 s), which an SDK that
 * ignores instrument advice would otherwise replace with millisecond-sized defaults.
 * `startTelemetry` adds them itself.
 */
export function createOptimizerMeterViews(): ViewOptions[] {
  const boundaries = [...DURATION_BUCKETS_SECONDS];
  return [
    Instruments.executionDuration,
    Instruments.mcpClientOperationDuration,
    Instruments.sessionStoreDuration,
  ].map((instrumentName) => ({
    meterName: METER_NAME,
    instrumentName,
    aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries } },
  }));
}
