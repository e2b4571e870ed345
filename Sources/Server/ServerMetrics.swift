import Prometheus

/// What `GET /metrics` reports, in the Prometheus text format: requests by route and status,
/// their latency, results ingested by kind and outcome, how long results wait and take to
/// apply, the ingest queue's depth, and requests refused for their credentials.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let queueDepth: Gauge
    let ingestLatency: DurationHistogram

    init() {
        queueDepth = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "cimdb", subsystem: "ingest", metricName: "queue_depth", unitName: "results",
                helpText: "Results received and waiting to be applied."))
        ingestLatency = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "cimdb", subsystem: "ingest", metricName: "latency", unitName: "seconds",
                helpText: "From a result's arrival to its outcome (queue wait and apply)."),
            labels: [],
            buckets: [
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            ])
    }

    func request(route: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.requestDuration, labels: [("route", route)], buckets: Self.requestBuckets)
            .record(duration)
    }

    func result(kind: String, outcome: String) {
        registry.makeCounter(descriptor: Self.results, labels: [("kind", kind), ("outcome", outcome)]).increment()
    }

    func refused(reason: String) {
        registry.makeCounter(descriptor: Self.refusedRequests, labels: [("reason", reason)]).increment()
    }

    func text() -> [UInt8] { registry.emitToBuffer() }

    private static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "cimdb", subsystem: "server", metricName: "requests", unitName: "total",
            helpText: "HTTP requests answered, by route and status.")
    }
    private static var requestDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "cimdb", subsystem: "server", metricName: "request_duration", unitName: "seconds",
            helpText: "Time to answer a request, by route.")
    }
    private static var results: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "cimdb", subsystem: "ingest", metricName: "results", unitName: "total",
            helpText: "Results settled, by kind (discovery, update) and outcome (applied, duplicate, rejected).")
    }
    private static var refusedRequests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "cimdb", subsystem: "server", metricName: "refused_requests", unitName: "total",
            helpText: "Requests refused for their credentials, by reason.")
    }
    private static let requestBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]
}
