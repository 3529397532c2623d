/**
 * The embedded registry's metrics in the Prometheus text format (`GET /metrics`): requests by route, method
 * and status, bytes received and sent, uploads in flight and the storage's size. Labels never carry repository
 * names, users or other values a caller chooses.
 *
 * @module
 */

/** The gauges read at scrape time. */
export interface MetricGauges {
  uploadsInFlight: number;
  requestsInFlight: number;
  storageBytes: number;
}

/**
 * The methods the registry answers, counted by name; any other (a client may send any token as its method)
 * counts as `OTHER`, so that callers cannot grow the label set and the counters without bound.
 */
const METHOD_LABELS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]);

/** Counters of one registry. */
export class RegistryMetrics {
  #requests = new Map<string, number>();
  #bytesIn = 0;
  #bytesOut = 0;

  /** Counts one answered request and the body bytes it sends. */
  record(entry: { route: string; method: string; status: number; bytesOut: number }): void {
    const method = METHOD_LABELS.has(entry.method) ? entry.method : "OTHER";
    const key = `route="${entry.route}",method="${method}",status="${entry.status}"`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    this.#bytesOut += entry.bytesOut;
  }

  /** Counts blob and manifest bytes received (upload bytes as they arrive, so a long upload shows progress). */
  received(bytes: number): void {
    this.#bytesIn += bytes;
  }

  /**
   * The metrics as Prometheus text.
   *
   * @param gauges the values read now
   */
  render(gauges: MetricGauges): string {
    const lines = [
      "# HELP kpm_registry_requests_total Requests answered, by route, method and status.",
      "# TYPE kpm_registry_requests_total counter",
      ...[...this.#requests].sort().map(([labels, count]) =>
        `kpm_registry_requests_total{${labels}} ${count}`
      ),
      "# HELP kpm_registry_received_bytes_total Blob and manifest bytes received.",
      "# TYPE kpm_registry_received_bytes_total counter",
      `kpm_registry_received_bytes_total ${this.#bytesIn}`,
      "# HELP kpm_registry_sent_bytes_total Response body bytes sent (by Content-Length).",
      "# TYPE kpm_registry_sent_bytes_total counter",
      `kpm_registry_sent_bytes_total ${this.#bytesOut}`,
      "# HELP kpm_registry_uploads_in_flight Blob upload sessions open.",
      "# TYPE kpm_registry_uploads_in_flight gauge",
      `kpm_registry_uploads_in_flight ${gauges.uploadsInFlight}`,
      "# HELP kpm_registry_requests_in_flight Requests being answered.",
      "# TYPE kpm_registry_requests_in_flight gauge",
      `kpm_registry_requests_in_flight ${gauges.requestsInFlight}`,
      "# HELP kpm_registry_storage_bytes Bytes of content, manifests and uploads in the storage folder.",
      "# TYPE kpm_registry_storage_bytes gauge",
      `kpm_registry_storage_bytes ${gauges.storageBytes}`,
    ];
    return lines.join("\n") + "\n";
  }
}
