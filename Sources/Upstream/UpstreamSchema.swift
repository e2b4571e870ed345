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
            removal_requested_at timestamptz,
            removal_due_at timestamptz,
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

        -- Permanent removal of a deregistered (inactive) support instance and all its data: only on
        -- request, after a grace period (7 days unless given), revocable during it; every step an
        -- audit record. `cimdb upstream` removes what is due every few seconds.
        CREATE OR REPLACE FUNCTION upstream.request_removal(p_site text, p_external_id text, p_grace interval DEFAULT '7 days')
        RETURNS timestamptz LANGUAGE plpgsql AS $$
        DECLARE
            v_due timestamptz;
        BEGIN
            UPDATE upstream.support_instance SET removal_requested_at = now(), removal_due_at = now() + p_grace
            WHERE site = p_site AND external_id = p_external_id AND NOT active
            RETURNING removal_due_at INTO v_due;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'site % has no inactive support instance %', p_site, p_external_id
                    USING HINT = 'only a deregistered support instance can be removed';
            END IF;
            INSERT INTO upstream.audit (what, external_id, detail)
            VALUES ('removal requested', p_external_id, format('site %s; removed at %s unless revoked', p_site, v_due));
            RETURN v_due;
        END $$;
        COMMENT ON FUNCTION upstream.request_removal IS 'Asks for the permanent removal of an inactive support instance and its data after a grace period (default 7 days); revocable until then.';

        CREATE OR REPLACE FUNCTION upstream.revoke_removal(p_site text, p_external_id text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE upstream.support_instance SET removal_requested_at = NULL, removal_due_at = NULL
            WHERE site = p_site AND external_id = p_external_id AND removal_due_at IS NOT NULL;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'site % has no removal pending for support instance %', p_site, p_external_id;
            END IF;
            INSERT INTO upstream.audit (what, external_id, detail) VALUES ('removal revoked', p_external_id, format('site %s', p_site));
        END $$;

        CREATE OR REPLACE FUNCTION upstream.remove_due() RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE
            n integer;
        BEGIN
            WITH due AS (
                DELETE FROM upstream.support_instance WHERE removal_due_at <= now() RETURNING site, external_id, integrator, proxy
            ), data AS (
                DELETE FROM upstream.message m USING due WHERE m.site = due.site AND m.support_instance = due.external_id
                RETURNING due.site, due.external_id
            ), audited AS (
                INSERT INTO upstream.audit (what, proxy, integrator, external_id, detail)
                SELECT 'removed', d.proxy, d.integrator, d.external_id,
                       format('site %s; %s message(s) removed with it', d.site, (SELECT count(*) FROM data x WHERE x.site = d.site AND x.external_id = d.external_id))
                FROM due d
            )
            SELECT count(*) INTO n FROM due;
            RETURN n;
        END $$;

        -- The back channel (session mode): requests for a site's integrators and support
        -- instances, queued here (upstream.send_request) and carried in the answers to the
        -- proxy's batches; the proxy reports each turn of a request's life (request-status), and
        -- the integrator's answer is data carrying the request id.
        CREATE TABLE IF NOT EXISTS upstream.request (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            site text NOT NULL,
            destination text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('getStatus', 'managementAction', 'getCapabilities', 'receiveUpdate')),
            body text,
            created_at timestamptz NOT NULL DEFAULT now(),
            status text NOT NULL DEFAULT 'queued',
            proxy uuid,
            sent_at timestamptz,
            sends integer NOT NULL DEFAULT 0,
            status_at timestamptz NOT NULL DEFAULT now(),
            detail text,
            answer jsonb,
            answer_message uuid
        );
        CREATE INDEX IF NOT EXISTS request_open ON upstream.request (site, created_at) WHERE status IN ('queued', 'sent');
        COMMENT ON TABLE upstream.request IS 'Back-channel requests (getStatus, managementAction, getCapabilities, receiveUpdate) for a destination at a site: status queued, sent (through proxy; again after 10 s until the proxy reports), held, delivered, answered (answer_message: the data answering it, or answer: the proxy''s status), misrouted, malformed, expired, refused.';

        CREATE OR REPLACE FUNCTION upstream.request_rank(p_status text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE p_status WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 WHEN 'held' THEN 2 WHEN 'delivered' THEN 3 ELSE 4 END
        $$;

        -- Through which proxy a destination is reached: for a support instance, the proxy the
        -- upstream first heard it from (seed 004, redundant proxies) while that proxy is heard
        -- from; an integrator through its own proxy; a proxy itself; else the site's proxy heard
        -- from last (which reports a destination it does not know as misrouted).
        CREATE OR REPLACE FUNCTION upstream.request_route(p_site text, p_destination text) RETURNS uuid LANGUAGE sql STABLE AS $$
            SELECT coalesce(
                (SELECT s.proxy FROM upstream.support_instance s JOIN upstream.proxy p ON p.id = s.proxy
                 WHERE s.site = p_site AND s.external_id = p_destination AND s.active AND p.last_heard_at > now() - interval '5 minutes'),
                (SELECT i.proxy FROM upstream.integrator i JOIN upstream.proxy p ON p.id = i.proxy
                 WHERE i.id::text = lower(p_destination) AND p.site = p_site),
                (SELECT p.id FROM upstream.proxy p WHERE p.id::text = lower(p_destination) AND p.site = p_site),
                (SELECT p.id FROM upstream.proxy p WHERE p.site = p_site AND p.mode = 'session' ORDER BY p.last_heard_at DESC LIMIT 1))
        $$;

        CREATE OR REPLACE FUNCTION upstream.send_request(p_site text, p_destination text, p_kind text, p_body text DEFAULT NULL)
        RETURNS uuid LANGUAGE plpgsql AS $$
        DECLARE
            v_id uuid;
        BEGIN
            IF p_kind IS NULL OR p_kind NOT IN ('getStatus', 'managementAction', 'getCapabilities', 'receiveUpdate') THEN
                RAISE EXCEPTION 'a back-channel request is getStatus, managementAction, getCapabilities or receiveUpdate, not %', coalesce(p_kind, 'NULL')
                    USING ERRCODE = '22023';
            END IF;
            IF NOT EXISTS (SELECT 1 FROM upstream.proxy WHERE site = p_site AND mode = 'session') THEN
                RAISE EXCEPTION 'site % has no proxy in session mode (only session mode has a back channel)', p_site USING ERRCODE = '22023';
            END IF;
            INSERT INTO upstream.request (site, destination, kind, body) VALUES (p_site, p_destination, p_kind, p_body) RETURNING id INTO v_id;
            RETURN v_id;
        END $$;
        COMMENT ON FUNCTION upstream.send_request IS 'Queues a back-channel request for a destination (an integrator''s, a support instance''s or a proxy''s remote services id) at a site; its id. Follow it in upstream.request.';

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
