-- 0012: the proxy's back channel (SPEC §8, seed 004: "back-channel calls", "routing
-- exceptions"). The upstream's requests — getStatus, managementAction, getCapabilities,
-- receiveUpdate — arrive in its answers to the proxy's batches, each for a destination: the
-- remote services id of an integrator, one of its support instances, or the proxy itself.
-- Here they are routed, checked, and held until their integrator takes them (its callback:
-- `cimdb proxy requests`, GET /v1/requests); every turn of a request's life goes back upstream
-- as a request-status message on the forward channel. The integrator's answer is data
-- (sendData) carrying the request id.

ALTER TABLE cimdb.proxy_settings
    ADD COLUMN request_hold interval NOT NULL DEFAULT '1 hour' CHECK (request_hold >= interval '1 second');
COMMENT ON COLUMN cimdb.proxy_settings.request_hold IS 'How long a back-channel request waits for its integrator to take it (it is offline) before it is discarded, and the upstream told.';

ALTER TABLE cimdb.proxy_integrator ADD COLUMN last_polled_at timestamptz;
COMMENT ON COLUMN cimdb.proxy_integrator.last_polled_at IS 'When the integrator last asked for its back-channel requests (cimdb proxy requests, GET /v1/requests).';

ALTER TABLE cimdb.proxy_message DROP CONSTRAINT proxy_message_kind_check;
ALTER TABLE cimdb.proxy_message ADD CONSTRAINT proxy_message_kind_check CHECK (kind IN (
    'event', 'alarm', 'data', 'register-proxy', 'register-integrator', 'register-instances', 'deregister-instance', 'heartbeat',
    'request-status'));

-- Every request received, once per id (the upstream sends one again until it hears of it).
-- status: held (for its integrator, until hold_until), delivered (taken by it), answered (by the
-- proxy itself: getStatus), misrouted (no such destination here), malformed (not well-formed
-- XML), expired (not taken in time), refused (a kind the destination does not take).
CREATE TABLE cimdb.proxy_request (
    id uuid PRIMARY KEY,
    destination text NOT NULL,
    kind text NOT NULL,
    body text,
    integrator uuid REFERENCES cimdb.proxy_integrator ON DELETE CASCADE,
    instance text,
    status text NOT NULL CHECK (status IN ('held', 'delivered', 'answered', 'misrouted', 'malformed', 'expired', 'refused')),
    received_at timestamptz NOT NULL DEFAULT now(),
    hold_until timestamptz,
    status_at timestamptz NOT NULL DEFAULT now(),
    detail text
);
CREATE INDEX proxy_request_held ON cimdb.proxy_request (integrator, received_at) WHERE status = 'held';
COMMENT ON TABLE cimdb.proxy_request IS 'Back-channel requests from the upstream, once per id: where they were routed (integrator, instance) and what became of them (status, detail).';

-- The proxy's status, and every integrator's with its support instances: the heartbeat's body
-- and the proxy's own answer to getStatus.
CREATE FUNCTION cimdb.proxy_status() RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'proxy', jsonb_build_object('id', s.proxy_id, 'status', CASE WHEN s.stopped THEN 'stopped' ELSE 'forwarding' END,
            'queue', (SELECT jsonb_object_agg(cimdb.proxy_precedence_name(precedence), jsonb_build_object('messages', n, 'bytes', b))
                      FROM (SELECT precedence, count(*) AS n, sum(bytes) AS b FROM cimdb.proxy_message GROUP BY precedence) q)),
        'integrators', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'id', i.id, 'name', i.name, 'version', i.version, 'last_call_at', i.last_call_at, 'last_polled_at', i.last_polled_at,
                'instances', (SELECT coalesce(jsonb_agg(p.instance ORDER BY p.instance), '[]'::jsonb)
                              FROM cimdb.proxy_instance p WHERE p.integrator = i.id AND p.deregistered_at IS NULL))
                ORDER BY i.name, i.version)
            FROM cimdb.proxy_integrator i), '[]'::jsonb))
    FROM cimdb.proxy_settings s
$$;

CREATE OR REPLACE FUNCTION cimdb.proxy_enqueue_heartbeat() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s cimdb.proxy_settings;
BEGIN
    SELECT * INTO s FROM cimdb.proxy_settings;
    IF EXISTS (SELECT 1 FROM cimdb.proxy_message WHERE kind = 'heartbeat') THEN
        RETURN;
    END IF;
    PERFORM cimdb.proxy_enqueue(NULL, 'heartbeat', NULL, NULL, 'normal', 'normal', 2 * s.heartbeat, cimdb.proxy_status()::text);
END $$;

-- Tells the upstream what became of a request: a control message (urgent, high persistence,
-- like the registrations), so that it stops sending the request again.
CREATE FUNCTION cimdb.proxy_request_status(p_id uuid, p_status text, p_detail text, p_answer jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cimdb.proxy_enqueue_control(NULL, 'request-status', NULL,
        jsonb_build_object('request', p_id, 'status', p_status, 'detail', p_detail, 'answer', p_answer)::text);
    IF p_status IN ('misrouted', 'malformed', 'expired', 'refused') THEN
        INSERT INTO cimdb.proxy_log (what, detail) VALUES ('request ' || p_status, format('%s: %s', p_id, p_detail));
    END IF;
END $$;

-- A request from the upstream's answer, routed by its destination (seed 004): the proxy's own
-- id → the proxy answers (getStatus); an integrator's id, or an active support instance's →
-- held for that integrator; anything else → misrouted, discarded, the upstream told. Its XML,
-- checked by the caller (p_problem: why it is not well-formed), must be well-formed. The same
-- id again changes nothing. What became of it.
CREATE FUNCTION cimdb.proxy_receive_request(p_id uuid, p_destination text, p_kind text, p_body text, p_problem text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    s cimdb.proxy_settings;
    v_integrator uuid;
    v_instance text;
    v_status text;
    v_detail text;
BEGIN
    IF EXISTS (SELECT 1 FROM cimdb.proxy_request WHERE id = p_id) THEN
        RETURN 'known';
    END IF;
    SELECT * INTO s FROM cimdb.proxy_settings;
    IF p_destination = s.proxy_id::text THEN
        IF p_kind = 'getStatus' THEN
            INSERT INTO cimdb.proxy_request (id, destination, kind, body, status, detail) VALUES (p_id, p_destination, p_kind, p_body, 'answered', 'by the proxy');
            PERFORM cimdb.proxy_request_status(p_id, 'answered', 'the proxy''s status', cimdb.proxy_status());
            RETURN 'answered';
        END IF;
        v_detail := format('the proxy itself answers getStatus only, not %s', p_kind);
        INSERT INTO cimdb.proxy_request (id, destination, kind, body, status, detail) VALUES (p_id, p_destination, p_kind, p_body, 'refused', v_detail);
        PERFORM cimdb.proxy_request_status(p_id, 'refused', v_detail);
        RETURN 'refused';
    END IF;
    SELECT id INTO v_integrator FROM cimdb.proxy_integrator WHERE id::text = lower(p_destination);
    IF NOT FOUND THEN
        SELECT integrator, instance INTO v_integrator, v_instance FROM cimdb.proxy_instance
        WHERE instance = p_destination AND deregistered_at IS NULL ORDER BY registered_at LIMIT 1;
    END IF;
    IF v_integrator IS NULL THEN
        v_status := 'misrouted';
        v_detail := format('no integrator or active support instance here has the id %s', p_destination);
    ELSIF p_kind NOT IN ('getStatus', 'managementAction', 'getCapabilities', 'receiveUpdate') THEN
        v_status := 'refused';
        v_detail := format('%s is not a back-channel call (getStatus, managementAction, getCapabilities, receiveUpdate)', p_kind);
    ELSIF p_problem IS NOT NULL THEN
        v_status := 'malformed';
        v_detail := 'its XML is not well-formed: ' || p_problem;
    ELSE
        INSERT INTO cimdb.proxy_request (id, destination, kind, body, integrator, instance, status, hold_until)
        VALUES (p_id, p_destination, p_kind, p_body, v_integrator, v_instance, 'held', now() + s.request_hold);
        PERFORM cimdb.proxy_request_status(p_id, 'held', format('for its integrator, until %s', now() + s.request_hold));
        RETURN 'held';
    END IF;
    INSERT INTO cimdb.proxy_request (id, destination, kind, body, integrator, instance, status, detail)
    VALUES (p_id, p_destination, p_kind, p_body, v_integrator, v_instance, v_status, v_detail);
    PERFORM cimdb.proxy_request_status(p_id, v_status, v_detail);
    RETURN v_status;
END $$;

-- The integrator's callback: the requests held for it, oldest first (at most p_limit), now
-- delivered; the upstream is told. Also records that the integrator is online.
CREATE FUNCTION cimdb.proxy_take_requests(p_integrator uuid, p_limit integer)
RETURNS TABLE (id uuid, destination text, instance text, kind text, body text, received_at timestamptz) LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    UPDATE cimdb.proxy_integrator SET last_polled_at = now() WHERE proxy_integrator.id = p_integrator;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no integrator has the handle %', p_integrator USING ERRCODE = '22023', HINT = 'register first: cimdb proxy register NAME VERSION';
    END IF;
    FOR r IN
        UPDATE cimdb.proxy_request q SET status = 'delivered', status_at = now()
        WHERE q.id IN (
            SELECT h.id FROM cimdb.proxy_request h
            WHERE h.integrator = p_integrator AND h.status = 'held' AND h.hold_until > clock_timestamp()
            ORDER BY h.received_at, h.id LIMIT p_limit FOR UPDATE SKIP LOCKED)
        RETURNING q.id, q.destination, q.instance, q.kind, q.body, q.received_at
    LOOP
        PERFORM cimdb.proxy_request_status(r.id, 'delivered', 'taken by its integrator');
        id := r.id; destination := r.destination; instance := r.instance; kind := r.kind; body := r.body; received_at := r.received_at;
        RETURN NEXT;
    END LOOP;
END $$;

-- Requests their integrator did not take within request_hold: discarded, the upstream told.
CREATE FUNCTION cimdb.proxy_expire_requests() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN
        UPDATE cimdb.proxy_request SET status = 'expired', status_at = now(),
            detail = format('its integrator did not take it within %s', (SELECT request_hold FROM cimdb.proxy_settings))
        WHERE status = 'held' AND hold_until <= clock_timestamp()
        RETURNING proxy_request.id, proxy_request.detail
    LOOP
        PERFORM cimdb.proxy_request_status(r.id, 'expired', r.detail);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- The inventory as an integrator (issue 15, scope 9): feeds of the inventory's change events
-- (cimdb.event) to the upstream, each as sendEvent ('events') or as CIM-XML export messages
-- sent as data ('export'), filtered by class (and its subclasses) and node like subscriptions.
-- `cimdb proxy run` reads each feed after forwarded_through and queues what it read in the same
-- transaction that moves the cursor: every event is queued exactly once (event ids are visible
-- in commit order, migration 0009). The integrator is `cimdb-inventory`; its support instances
-- are the nodes (and `inventory` for events without one).
CREATE TABLE cimdb.proxy_feed (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    what text NOT NULL CHECK (what IN ('events', 'export')),
    class_name text,
    node text,
    precedence text NOT NULL DEFAULT 'normal' CHECK (precedence IN ('urgent', 'normal', 'bulk')),
    ttl interval CHECK (ttl > interval '0'),
    created_at timestamptz NOT NULL DEFAULT now(),
    forwarded_through bigint NOT NULL,
    events_forwarded bigint NOT NULL DEFAULT 0,
    messages_queued bigint NOT NULL DEFAULT 0,
    last_forwarded_at timestamptz,
    last_error text
);
COMMENT ON TABLE cimdb.proxy_feed IS 'The inventory''s change events forwarded upstream: as events (sendEvent) or as CIM-XML export messages (sendData), by class (with subclasses) and node; forwarded_through: the last event id queued; last_error: why the last round did not queue (e.g. the queue is full: retried).';

-- What an integrator call acknowledges is on disk when the call returns, whatever the
-- cluster's default (the embedded cluster commits asynchronously: synchronous_commit off): a
-- statement-level trigger on the queue and on the record of discards makes the transaction
-- that inserts into them commit synchronously — every way in (the CLI, the HTTP API, a program
-- using ProxyQueries, psql) included. Found by the test that kills the site's PostgreSQL: a
-- send that had returned its message id was gone after the restart.
CREATE FUNCTION cimdb.proxy_durable_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'on', true);
    RETURN NULL;
END $$;
COMMENT ON FUNCTION cimdb.proxy_durable_commit() IS 'Makes the current transaction commit synchronously (synchronous_commit = on until it ends): what the proxy acknowledges is durable.';
CREATE TRIGGER proxy_message_durable AFTER INSERT ON cimdb.proxy_message
    FOR EACH STATEMENT EXECUTE FUNCTION cimdb.proxy_durable_commit();
CREATE TRIGGER proxy_discard_durable AFTER INSERT ON cimdb.proxy_discard
    FOR EACH STATEMENT EXECUTE FUNCTION cimdb.proxy_durable_commit();
