-- The remote-services proxy's site side, for psql (SPEC §8; migrations/0011, 0012). Installed with the
-- reports (cimdb migrate); read-only views over cimdb.proxy_*.

-- What is queued, per precedence: messages, bytes, the oldest message's queue time.
CREATE VIEW report.proxy_queue AS
SELECT p.precedence AS rank, cimdb.proxy_precedence_name(p.precedence) AS precedence, count(m.id) AS messages,
       coalesce(sum(m.bytes), 0) AS bytes, min(m.queued_at) AS oldest
FROM (VALUES (0::smallint), (1::smallint), (2::smallint)) AS p(precedence)
LEFT JOIN cimdb.proxy_message m ON m.precedence = p.precedence
GROUP BY p.precedence;
COMMENT ON VIEW report.proxy_queue IS 'Queue depth per precedence (urgent, normal, bulk): messages, bytes, oldest queued_at.';

-- Discards and rejections by rule: 1 oldest expired, 2 oldest bulk of normal persistence,
-- 3 new bulk message, 4 oldest normal of normal persistence for an urgent one, 5 rejected (an
-- error for the sender); NULL: dropped for another reason (session mode before registration).
CREATE VIEW report.proxy_discards AS
SELECT rule, count(*) AS count, sum(bytes) AS bytes, min(discarded_at) AS first, max(discarded_at) AS last,
       (array_agg(reason ORDER BY id DESC))[1] AS last_reason
FROM cimdb.proxy_discard GROUP BY rule;
COMMENT ON VIEW report.proxy_discards IS 'Messages discarded (rules 1–4), rejected (rule 5) or dropped (rule NULL), with counts and bytes.';

-- Messages and bytes the upstream acknowledged, per hour.
CREATE VIEW report.proxy_throughput AS
SELECT date_trunc('hour', period_start) AS hour, sum(messages) AS messages, sum(bytes) AS bytes
FROM cimdb.proxy_throughput GROUP BY 1 ORDER BY 1;
COMMENT ON VIEW report.proxy_throughput IS 'Messages and bytes the upstream acknowledged, per hour.';

-- Integrators: registration, acknowledgement, last call, support instances.
CREATE VIEW report.proxy_integrators AS
SELECT i.name, i.version, i.id AS handle, i.registered_at, i.acknowledged_at, i.last_call_at,
       count(p.instance) FILTER (WHERE p.deregistered_at IS NULL) AS active_instances,
       count(p.instance) FILTER (WHERE p.deregistered_at IS NOT NULL) AS deregistered_instances
FROM cimdb.proxy_integrator i LEFT JOIN cimdb.proxy_instance p ON p.integrator = i.id
GROUP BY i.id ORDER BY i.name, i.version;
COMMENT ON VIEW report.proxy_integrators IS 'Integrators: handle, registration and its acknowledgement by the upstream, last call, active and deregistered support instances.';

-- Support instances, active or deregistered.
CREATE VIEW report.proxy_instances AS
SELECT i.name AS integrator, p.instance, p.deregistered_at IS NULL AS active, p.registered_at, p.deregistered_at
FROM cimdb.proxy_instance p JOIN cimdb.proxy_integrator i ON i.id = p.integrator
ORDER BY i.name, p.instance;
COMMENT ON VIEW report.proxy_instances IS 'Support instances per integrator, active or deregistered (kept, with the time).';

-- Bulk transfers deferred or rejected by the upstream, and aborted after too many deferrals.
CREATE VIEW report.proxy_bulk_transfers AS
SELECT at, what, detail FROM cimdb.proxy_log WHERE what LIKE 'bulk %' ORDER BY id;
COMMENT ON VIEW report.proxy_bulk_transfers IS 'Bulk transfers negotiated with the upstream: deferred (with the reason), rejected (with its code), aborted after too many deferrals, sent.';

-- Back-channel requests from the upstream (migrations/0012): where each was routed and what
-- became of it — held for its integrator, delivered, answered by the proxy, misrouted,
-- malformed, expired (its integrator offline too long) or refused.
CREATE VIEW report.proxy_requests AS
SELECT r.id AS request, r.kind, r.destination, i.name AS integrator, r.instance, r.status, r.received_at, r.status_at, r.hold_until, r.detail
FROM cimdb.proxy_request r LEFT JOIN cimdb.proxy_integrator i ON i.id = r.integrator
ORDER BY r.received_at, r.id;
COMMENT ON VIEW report.proxy_requests IS 'Back-channel requests: kind, destination, the integrator and support instance they were routed to, status (held, delivered, answered, misrouted, malformed, expired, refused), when, and why.';

-- Back-channel requests per status.
CREATE VIEW report.proxy_request_counts AS
SELECT status, count(*) AS requests, max(status_at) AS last FROM cimdb.proxy_request GROUP BY status ORDER BY status;
COMMENT ON VIEW report.proxy_request_counts IS 'Back-channel requests per status (held, delivered, answered, misrouted, malformed, expired, refused).';

-- The inventory's feeds to the upstream (cimdb proxy feed): what, filters, how far, how many.
CREATE VIEW report.proxy_feeds AS
SELECT f.id, f.what, coalesce(f.class_name, '*') AS class, coalesce(f.node, '*') AS node, f.precedence, f.ttl, f.forwarded_through,
       (SELECT count(*) FROM cimdb.event e WHERE e.id > f.forwarded_through) AS events_newer, f.events_forwarded, f.messages_queued,
       f.last_forwarded_at, f.last_error
FROM cimdb.proxy_feed f ORDER BY f.id;
COMMENT ON VIEW report.proxy_feeds IS 'Feeds of the inventory''s change events to the upstream: events or export, class and node filters, the last event queued, how many events are newer (matching or not: the feed skips past the rest), events and messages queued, the last error.';
