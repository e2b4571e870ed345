/// The upstream's schema, installed (idempotently) when `cimdb upstream` starts, in its own
/// database: `upstream.*`. Commented for psql users; docs/proxy-protocol.md describes it.
enum UpstreamSchema {
    static let lock: Int64 = 7_163_376_960_224_458_360

    static let sql = """
        CREATE SCHEMA IF NOT EXISTS upstream;

        CREATE TABLE IF NOT EXISTS upstream.proxy (
            id uuid PRIMARY KEY,
            site text NOT NULL,
            mode text NOT NULL,
            registered_at timestamptz NOT NULL DEFAULT now(),
            last_heard_at timestamptz NOT NULL DEFAULT now(),
            last_heartbeat_at timestamptz,
            last_status jsonb
        );
        COMMENT ON TABLE upstream.proxy IS 'Site proxies that registered: their site, mode, when last heard from, their last heartbeat''s status.';

        CREATE TABLE IF NOT EXISTS upstream.integrator (
            id uuid PRIMARY KEY,
            proxy uuid NOT NULL,
            name text NOT NULL,
            version text NOT NULL,
            registered_at timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE IF NOT EXISTS upstream.support_instance (
            site text NOT NULL,
            external_id text NOT NULL,
            integrator uuid NOT NULL,
            proxy uuid NOT NULL,
            capabilities text,
            active boolean NOT NULL DEFAULT true,
            registered_at timestamptz NOT NULL DEFAULT now(),
            deregistered_at timestamptz,
            PRIMARY KEY (site, external_id)
        );
        COMMENT ON TABLE upstream.support_instance IS 'Support instances by site and external id (redundant proxies of a site register the same one once; integrator and proxy: the first to register it); a deregistered one is inactive (its data stays).';

        CREATE TABLE IF NOT EXISTS upstream.audit (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT now(),
            what text NOT NULL,
            proxy uuid,
            integrator uuid,
            external_id text,
            detail text
        );

        CREATE TABLE IF NOT EXISTS upstream.message (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            message_id uuid NOT NULL UNIQUE,
            proxy uuid NOT NULL,
            site text NOT NULL,
            integrator uuid,
            support_instance text,
            kind text NOT NULL,
            event_id text,
            precedence text NOT NULL,
            queued_at timestamptz,
            received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            header jsonb NOT NULL,
            body jsonb NOT NULL
        );
        COMMENT ON TABLE upstream.message IS 'Every event, alarm and data message recorded, once per remote services id, in arrival order (seq); an event once per site, support instance, event id and state (redundant proxies of a site send the same events).';
        CREATE UNIQUE INDEX IF NOT EXISTS message_event_once ON upstream.message (site, support_instance, event_id, (body ->> 'state'))
            WHERE kind = 'event' AND event_id IS NOT NULL;

        CREATE TABLE IF NOT EXISTS upstream.dropped (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT now(),
            message_id uuid NOT NULL,
            proxy uuid NOT NULL,
            integrator uuid,
            kind text NOT NULL,
            reason text NOT NULL
        );
        COMMENT ON TABLE upstream.dropped IS 'Messages not recorded, and why (data from an unregistered integrator, in message mode).';

        -- How bulk transfer requests are answered: deferred (with defer_reason) while not accepting,
        -- rejected (code too-large) over max_bytes, else okay. Change it in SQL; it applies at once.
        CREATE TABLE IF NOT EXISTS upstream.bulk_policy (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            accepting boolean NOT NULL DEFAULT true,
            defer_reason text NOT NULL DEFAULT 'busy',
            max_bytes bigint CHECK (max_bytes > 0)
        );
        INSERT INTO upstream.bulk_policy DEFAULT VALUES ON CONFLICT DO NOTHING;
        COMMENT ON TABLE upstream.bulk_policy IS 'How bulk transfer requests are answered: deferred while not accepting, rejected over max_bytes, else okay.';

        CREATE TABLE IF NOT EXISTS upstream.bulk_request (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT now(),
            message_id uuid NOT NULL,
            proxy uuid NOT NULL,
            type text NOT NULL,
            bytes bigint NOT NULL,
            status text NOT NULL,
            detail text
        );
        COMMENT ON TABLE upstream.bulk_request IS 'Every bulk transfer request and how it was answered (okay, deferred, rejected).';

        CREATE OR REPLACE VIEW upstream.received AS
        SELECT message_id, proxy, support_instance, kind, event_id, precedence, received_at, seq, integrator, site, queued_at
        FROM upstream.message;
        COMMENT ON VIEW upstream.received IS 'One row per message recorded (event, alarm, data), in arrival order by seq.';

        CREATE OR REPLACE VIEW upstream.sources AS
        SELECT p.site, p.id AS proxy, p.mode, p.registered_at, p.last_heard_at, p.last_heartbeat_at,
               (SELECT count(*) FROM upstream.integrator i WHERE i.proxy = p.id) AS integrators,
               (SELECT count(*) FROM upstream.support_instance s WHERE s.proxy = p.id AND s.active) AS active_instances
        FROM upstream.proxy p ORDER BY p.site, p.registered_at;
        COMMENT ON VIEW upstream.sources IS 'Proxies heard from: site, mode, last heard, integrators and active support instances.';
        """
}
