import type { MetricData, ResourceMetrics } from "@opentelemetry/sdk-metrics";

// UCUM units to the words Prometheus names use (OpenTelemetry's Prometheus compatibility spec).
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: "days",
  h: "hours",
  min: "minutes",
  s: "seconds",
  ms: "milliseconds",
  us: "microseconds",
  ns: "nanoseconds",
  By: "bytes",
  KiBy: "kibibytes",
  MiBy: "mebibytes",
  GiBy: "gibibytes",
  KBy: "kilobytes",
  MBy: "megabytes",
  GBy: "gigabytes",
  "%": "percent",
};

const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: "second",
  min: "minute",
  h: "hour",
  d: "day",
};

/**
 * The suffix a Prometheus name gets for an OpenTelemetry unit: "s" -> "seconds",
 * "By/s" -> "bytes_per_second"; annotations ("{token}") and "1" give none; other units
 * are appended lowercased ("USD" -> "usd").
 */
export function prometheusUnitSuffix(unit: string | undefined): string {
  if (!unit) return "";
  const bare = unit.replace(/\{[^}]*\}/g, "").trim();
  if (bare === "" || bare === "1") return "";
  const [num = "", per] = bare.split("/", 2);
  const word = (u: string) => UNIT_WORDS[u] ?? u.toLowerCase();
  const head = num === "" || num === "1" ? "" : word(num);
  const tail = per ? `per_${PER_UNIT_WORDS[per] ?? word(per)}` : "";
  return [head, tail]
    .filter(Boolean)
    .join("_")
    .replace(/[^a-zA-Z0-9_]/g, "_");
}

/** Adds the unit suffix to each metric's name unless the name already ends with it. */
export function withPrometheusUnits(metrics: ResourceMetrics): ResourceMetrics {
  return {
    ...metrics,
    scopeMetrics: metrics.scopeMetrics.map((scope) => ({
      ...scope,
      metrics: scope.metrics.map((metric) => renamed(metric)),
    })),
  };
}

// The UNIT line then names the suffix (as OpenMetrics wants); annotations like "{token}" give none.
function renamed(metric: MetricData): MetricData {
  const { name, unit } = metric.descriptor;
  const suffix = prometheusUnitSuffix(unit);
  const flat = name.replace(/[^a-zA-Z0-9_]/g, "_");
  const hasSuffix = !suffix || flat === suffix || flat.endsWith(`_${suffix}`);
  if (hasSuffix && unit === suffix) return metric;
  return {
    ...metric,
    descriptor: {
      ...metric.descriptor,
      name: hasSuffix ? name : `${name}_${suffix}`,
      unit: suffix,
    },
  };
}
