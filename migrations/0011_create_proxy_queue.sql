-- 0011: the remote-services proxy's site side (SPEC §8, seed 004): integrators and their support
-- instances, the persistent prioritized outbound queue with its size limits, discard rules and
-- throttle, and the record of every discard. `cimdb proxy run` forwards the queue to an upstream
-- (`cimdb upstream`); `cimdb proxy …` commands are the integrator calls. The rules are here, in
-- functions, so that every way in (the CLI, the proxy's HTTP API, psql) obeys them.

-- One row: the proxy's identity, mode, registration, limits and throttle. NULL limits are
-- unlimited (the default). Changes apply without a restart: the forwarder rereads this row
-- before each batch (and is woken by NOTIFY cimdb_proxy).
CREATE TABLE cimdb.proxy_settings (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    proxy_id uuid NOT NULL DEFAULT gen_random_uuid(),
    mode text NOT NULL DEFAULT 'session' CHECK (mode IN ('session', 'message')),
    registration_sent_at timestamptz,
    acknowledged_at timestamptz,
    total_bytes bigint CHECK (total_bytes > 0),
    urgent_bytes bigint CHECK (urgent_bytes > 0),
    normal_bytes bigint CHECK (normal_bytes > 0),
    bulk_bytes bigint CHECK (bulk_bytes > 0),
    bytes_per_message bigint CHECK (bytes_per_message > 0),
    bytes_per_period bigint CHECK (bytes_per_period > 0),
    messages_per_period bigint CHECK (messages_per_period > 0),
    period interval NOT NULL DEFAULT '1 hour' CHECK (period >= interval '1 second'),
    stopped boolean NOT NULL DEFAULT false,
    heartbeat interval NOT NULL DEFAULT '60 seconds' CHECK (heartbeat >= interval '1 second'),
    registration_every integer NOT NULL DEFAULT 5 CHECK (registration_every > 0),
    bulk_threshold integer NOT NULL DEFAULT 65536 CHECK (bulk_threshold > 0),
    bulk_attempts integer NOT NULL DEFAULT 5 CHECK (bulk_attempts > 0)
);
INSERT INTO cimdb.proxy_settings DEFAULT VALUES;
COMMENT ON TABLE cimdb.proxy_settings IS 'The proxy''s identity (proxy_id, its remote services id), mode (session: data flows after the upstream acknowledges the registration; message: at once), size limits (total and per precedence), throttle (bytes and messages per period, bytes per message, stopped), heartbeat, and bulk transfers (bulk data and messages over bulk_threshold bytes are negotiated first; deferred ones retried with the heartbeat, bulk_attempts times). NULL is unlimited.';

-- Integrators (integration modules) by name and version. Their id is their remote services id
-- and the handle they identify themselves with.
CREATE TABLE cimdb.proxy_integrator (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (name <> ''),
    version text NOT NULL CHECK (version <> ''),
    registered_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    last_call_at timestamptz NOT NULL DEFAULT now(),
    token_sha256 bytea UNIQUE,
    UNIQUE (name, version)
);
COMMENT ON TABLE cimdb.proxy_integrator IS 'Registered integrators; id is the handle (and remote services id); acknowledged_at: when the upstream acknowledged the registration; token_sha256: the HTTP API''s bearer token, hashed.';

-- Support instances (devices, hosts, components an integrator manages) as the integrator names them.
CREATE TABLE cimdb.proxy_instance (
    integrator uuid NOT NULL REFERENCES cimdb.proxy_integrator ON DELETE CASCADE,
    instance text NOT NULL CHECK (instance <> ''),
    capabilities text,
    registered_at timestamptz NOT NULL DEFAULT now(),
    deregistered_at timestamptz,
    PRIMARY KEY (integrator, instance)
);

-- The queue. Rows are only inserted and deleted (on the upstream's acknowledgement, or by a
-- discard): no UPDATE per read, so no dead tuple per delivery attempt. precedence 0 urgent,
-- 1 normal, 2 bulk; within one, id order is arrival order.
CREATE TABLE cimdb.proxy_message (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    precedence smallint NOT NULL CHECK (precedence BETWEEN 0 AND 2),
    persistence text NOT NULL CHECK (persistence IN ('normal', 'high')),
    kind text NOT NULL CHECK (kind IN ('event', 'alarm', 'data', 'register-proxy', 'register-integrator', 'register-instances', 'deregister-instance', 'heartbeat')),
    integrator uuid,
    instance text,
    event_id text,
    body text NOT NULL,
    bytes integer NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz
);
CREATE INDEX proxy_message_order ON cimdb.proxy_message (precedence, id);
CREATE INDEX proxy_message_expiry ON cimdb.proxy_message (expires_at, id) WHERE expires_at IS NOT NULL;

-- What is queued per precedence, kept while a size limit is set (the size checks then read
-- three rows, not the queue). Without a limit nothing needs the totals, and
-- keeping them would make every enqueuer wait on these rows' locks until the one before it
-- committed: unlimited queuing runs in parallel instead, under the shared queue lock, and
-- setting a limit recounts under the exclusive one (proxy_settings_changed).
CREATE TABLE cimdb.proxy_usage (
    precedence smallint PRIMARY KEY,
    messages bigint NOT NULL DEFAULT 0,
    bytes bigint NOT NULL DEFAULT 0
);
INSERT INTO cimdb.proxy_usage (precedence) VALUES (0), (1), (2);

-- Whether a size limit is set: then room is decided, one enqueuer at a time.
CREATE FUNCTION cimdb.proxy_limited() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT total_bytes IS NOT NULL OR urgent_bytes IS NOT NULL OR normal_bytes IS NOT NULL OR bulk_bytes IS NOT NULL
    FROM cimdb.proxy_settings
$$;

-- The queue lock (advisory 7163376960224458358): enqueuers take it exclusively while a size
-- limit is set (room is decided one at a time), shared otherwise; every other writer of the
-- queue (the forwarder's acknowledgements, expiry) takes it shared.
CREATE FUNCTION cimdb.proxy_lock_queue(p_exclusive boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_exclusive THEN
        PERFORM pg_advisory_xact_lock(7163376960224458358);
    ELSE
        PERFORM pg_advisory_xact_lock_shared(7163376960224458358);
    END IF;
END $$;

-- The totals change with the queue only while a size limit is set: the enqueuer (under the
-- exclusive lock), and the removals (discards, expiry, acknowledgements) count themselves out.
CREATE FUNCTION cimdb.proxy_count_out(p_precedence smallint[], p_bytes integer[]) RETURNS void LANGUAGE sql AS $$
    UPDATE cimdb.proxy_usage u SET messages = u.messages - n.messages, bytes = u.bytes - n.bytes
    FROM (SELECT precedence, count(*) AS messages, sum(bytes) AS bytes FROM unnest(p_precedence, p_bytes) AS g(precedence, bytes) GROUP BY precedence) n
    WHERE u.precedence = n.precedence AND cimdb.proxy_limited()
$$;

-- Every message that left the queue other than by delivery, and every message refused for want
-- of room: rule 1–5 of the seed's queue management (1 oldest expired, 2 oldest bulk with normal
-- persistence, 3 the new bulk message, 4 for a new urgent one the oldest normal with normal
-- persistence, 5 the new message rejected — an error to its sender). rule NULL: dropped for
-- another reason, given (session mode before the proxy's registration is acknowledged).
CREATE TABLE cimdb.proxy_discard (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    discarded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    rule smallint CHECK (rule BETWEEN 1 AND 5),
    reason text NOT NULL,
    message_id uuid,
    precedence smallint NOT NULL,
    persistence text NOT NULL,
    kind text NOT NULL,
    integrator uuid,
    instance text,
    event_id text,
    bytes integer NOT NULL,
    queued_at timestamptz
);
CREATE INDEX proxy_discard_rule ON cimdb.proxy_discard (rule, discarded_at);

-- Messages and bytes the upstream acknowledged, per throttle period (the throttle's budget, and
-- the throughput report).
CREATE TABLE cimdb.proxy_throughput (
    period_start timestamptz PRIMARY KEY,
    messages bigint NOT NULL DEFAULT 0,
    bytes bigint NOT NULL DEFAULT 0
);

-- Bulk transfers (bulk data, and any message over bulk_threshold bytes) are negotiated with the
-- upstream before they are sent, apart from the main sender; a deferred one is tried again with
-- the next heartbeat, up to bulk_attempts times. One row per message that was deferred.
CREATE TABLE cimdb.proxy_bulk_attempt (
    message_id uuid PRIMARY KEY,
    attempts integer NOT NULL,
    last_reason text,
    next_try_at timestamptz NOT NULL
);

-- Whether a message goes by negotiated bulk transfer.
CREATE FUNCTION cimdb.proxy_negotiated(p_kind text, p_precedence smallint, p_bytes integer, p_threshold integer) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (p_kind = 'data' AND p_precedence = 2) OR p_bytes > p_threshold
$$;

-- What the proxy did that someone may ask about later: registrations acknowledged, forwarding
-- failures and recoveries, rejections.
CREATE TABLE cimdb.proxy_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    what text NOT NULL,
    detail text
);

CREATE FUNCTION cimdb.proxy_precedence(p text) RETURNS smallint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p WHEN 'urgent' THEN 0 WHEN 'normal' THEN 1 WHEN 'bulk' THEN 2 END::smallint
$$;
CREATE FUNCTION cimdb.proxy_precedence_name(p smallint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p WHEN 0 THEN 'urgent' WHEN 1 THEN 'normal' WHEN 2 THEN 'bulk' END
$$;

-- Moves one queued message to the discard record.
CREATE FUNCTION cimdb.proxy_discard_queued(p_id bigint, p_rule smallint, p_reason text) RETURNS void LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM cimdb.proxy_message WHERE id = p_id RETURNING *),
    recorded AS (
        INSERT INTO cimdb.proxy_discard (rule, reason, message_id, precedence, persistence, kind, integrator, instance, event_id, bytes, queued_at)
        SELECT p_rule, p_reason, message_id, precedence, persistence, kind, integrator, instance, event_id, bytes, queued_at FROM gone
    )
    SELECT cimdb.proxy_count_out(array_agg(precedence), array_agg(bytes)) FROM gone
$$;

-- Messages whose TTL has passed leave the queue (rule 1, never forwarded); how many.
CREATE FUNCTION cimdb.proxy_expire() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    v_counted boolean;
BEGIN
    PERFORM cimdb.proxy_lock_queue(false);
    WITH gone AS (
        DELETE FROM cimdb.proxy_message WHERE expires_at <= clock_timestamp() RETURNING *
    ), recorded AS (
        INSERT INTO cimdb.proxy_discard (rule, reason, message_id, precedence, persistence, kind, integrator, instance, event_id, bytes, queued_at)
        SELECT 1, 'its TTL passed before it was sent', message_id, precedence, persistence, kind, integrator, instance, event_id, bytes, queued_at
        FROM gone ORDER BY id
    )
    SELECT count(*), cimdb.proxy_count_out(array_agg(precedence), array_agg(bytes)) IS NULL INTO n, v_counted FROM gone;
    RETURN n;
END $$;

-- A queued message leaves the queue other than by delivery or a size rule (a bulk transfer
-- rejected or aborted): recorded with rule NULL and the reason.
CREATE FUNCTION cimdb.proxy_drop_queued(p_message_id uuid, p_reason text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    v_counted boolean;
BEGIN
    PERFORM cimdb.proxy_lock_queue(false);
    WITH gone AS (
        DELETE FROM cimdb.proxy_message WHERE message_id = p_message_id RETURNING *
    ), recorded AS (
        INSERT INTO cimdb.proxy_discard (rule, reason, message_id, precedence, persistence, kind, integrator, instance, event_id, bytes, queued_at)
        SELECT NULL, p_reason, message_id, precedence, persistence, kind, integrator, instance, event_id, bytes, queued_at FROM gone
    )
    SELECT count(*), cimdb.proxy_count_out(array_agg(precedence), array_agg(bytes)) IS NULL INTO n, v_counted FROM gone;
    DELETE FROM cimdb.proxy_bulk_attempt WHERE message_id = p_message_id;
    RETURN n;
END $$;

-- The upstream acknowledged these messages: they leave the queue, counted in the throttle's
-- period (the forwarder, in one transaction with the acknowledgements). How many were queued.
CREATE FUNCTION cimdb.proxy_acknowledge(p_ids uuid[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    v_counted boolean;
BEGIN
    PERFORM cimdb.proxy_lock_queue(false);
    WITH gone AS (
        DELETE FROM cimdb.proxy_message WHERE message_id = ANY(p_ids) RETURNING precedence, bytes
    ), counted AS (
        INSERT INTO cimdb.proxy_throughput AS t (period_start, messages, bytes)
        SELECT date_bin(s.period, clock_timestamp(), timestamptz '2000-01-01'), count(*), coalesce(sum(g.bytes), 0)
        FROM gone g, cimdb.proxy_settings s GROUP BY 1 HAVING count(*) > 0
        ON CONFLICT (period_start) DO UPDATE SET messages = t.messages + excluded.messages, bytes = t.bytes + excluded.bytes
    )
    SELECT count(*), cimdb.proxy_count_out(array_agg(precedence), array_agg(bytes)) IS NULL INTO n, v_counted FROM gone;
    RETURN n;
END $$;

-- Queues one message, applying the queue's rules (the one way in). Outcome:
--   queued     durably queued (message_id names it upstream)
--   discarded  a bulk message for which there was no room (rule 3; recorded, not an error)
--   dropped    session mode before the upstream acknowledged the proxy: data is silently dropped (recorded)
--   rejected   no room (rule 5): an error condition for the sender, recorded and logged
-- Raises SQLSTATE 22023 for bad parameters (the seed's −1) and 55000 for an integrator whose
-- registration the upstream has not acknowledged yet in session mode.
CREATE FUNCTION cimdb.proxy_enqueue(
    p_integrator uuid, p_kind text, p_instance text, p_event_id text,
    p_precedence text, p_persistence text, p_ttl interval, p_body text,
    OUT outcome text, OUT message_id uuid, OUT detail text
) LANGUAGE plpgsql AS $$
DECLARE
    s cimdb.proxy_settings;
    v_precedence smallint := cimdb.proxy_precedence(p_precedence);
    v_bytes integer := octet_length(p_body);
    v_integrator cimdb.proxy_integrator;
    v_total bigint;
    v_mine bigint;
    v_limit bigint;
    v_over_total boolean;
    v_over_mine boolean;
    v_victim bigint;
    v_discards integer := 0;
    v_exclusive boolean;
BEGIN
    IF v_precedence IS NULL THEN
        RAISE EXCEPTION 'precedence must be urgent, normal or bulk, not %', coalesce(p_precedence, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF p_persistence IS NULL OR p_persistence NOT IN ('normal', 'high') THEN
        RAISE EXCEPTION 'persistence must be normal or high, not %', coalesce(p_persistence, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF p_ttl IS NOT NULL AND p_ttl <= interval '0' THEN
        RAISE EXCEPTION 'a TTL must be positive, not %', p_ttl USING ERRCODE = '22023';
    END IF;
    IF p_body IS NULL THEN
        RAISE EXCEPTION 'a message needs a body' USING ERRCODE = '22023';
    END IF;
    -- With a size limit, one writer decides about room at a time (the checks below read the
    -- totals they change); without one, enqueuers run side by side. A limit set while this
    -- one waited for the lock admits this message as if it had come just before.
    SELECT * INTO s FROM cimdb.proxy_settings;
    v_exclusive := s.total_bytes IS NOT NULL OR s.urgent_bytes IS NOT NULL OR s.normal_bytes IS NOT NULL OR s.bulk_bytes IS NOT NULL;
    PERFORM cimdb.proxy_lock_queue(v_exclusive);
    IF v_exclusive THEN
        SELECT * INTO s FROM cimdb.proxy_settings;
    END IF;
    IF p_integrator IS NOT NULL THEN
        SELECT * INTO v_integrator FROM cimdb.proxy_integrator WHERE id = p_integrator;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no integrator has the handle %', p_integrator USING ERRCODE = '22023', HINT = 'register first: cimdb proxy register NAME VERSION';
        END IF;
        IF v_integrator.last_call_at < now() - interval '10 seconds' THEN
            UPDATE cimdb.proxy_integrator SET last_call_at = now() WHERE id = p_integrator;
        END IF;
    END IF;
    IF s.bytes_per_message IS NOT NULL AND v_bytes > s.bytes_per_message THEN
        RAISE EXCEPTION 'the message has % bytes; the limit is % bytes per message', v_bytes, s.bytes_per_message USING ERRCODE = '22023';
    END IF;
    IF p_kind IN ('event', 'alarm', 'data') AND s.mode = 'session' THEN
        IF s.acknowledged_at IS NULL THEN
            INSERT INTO cimdb.proxy_discard (reason, precedence, persistence, kind, integrator, instance, event_id, bytes)
            VALUES ('session mode: the upstream has not acknowledged the proxy''s registration yet', v_precedence, p_persistence, p_kind,
                    p_integrator, p_instance, p_event_id, v_bytes);
            outcome := 'dropped';
            detail := 'the proxy is not registered with the upstream yet: the data was dropped';
            RETURN;
        END IF;
        IF v_integrator.acknowledged_at IS NULL THEN
            RAISE EXCEPTION 'the upstream has not acknowledged the registration of integrator % % yet', v_integrator.name, v_integrator.version
                USING ERRCODE = '55000', HINT = 'data flows once the registration is acknowledged (cimdb proxy integrators)';
        END IF;
    END IF;

    v_limit := CASE v_precedence WHEN 0 THEN s.urgent_bytes WHEN 1 THEN s.normal_bytes ELSE s.bulk_bytes END;
    SELECT sum(bytes), sum(bytes) FILTER (WHERE precedence = v_precedence) INTO v_total, v_mine FROM cimdb.proxy_usage;
    IF v_exclusive AND ((s.total_bytes IS NOT NULL AND v_total + v_bytes > s.total_bytes) OR (v_limit IS NOT NULL AND v_mine + v_bytes > v_limit)) THEN
        -- No room: the seed's queue management, until there is. The block is a subtransaction
        -- (entered only here): when it ends in a rejection, the discards it made are undone —
        -- a rejected message costs nothing queued.
        BEGIN
            LOOP
                SELECT sum(bytes), sum(bytes) FILTER (WHERE precedence = v_precedence) INTO v_total, v_mine FROM cimdb.proxy_usage;
                v_over_total := s.total_bytes IS NOT NULL AND v_total + v_bytes > s.total_bytes;
                v_over_mine := v_limit IS NOT NULL AND v_mine + v_bytes > v_limit;
                EXIT WHEN NOT v_over_total AND NOT v_over_mine;
                -- Under its own precedence's limit, only a message of that precedence makes room.
                -- (1) the oldest message whose TTL has passed
                SELECT id INTO v_victim FROM cimdb.proxy_message
                WHERE expires_at <= clock_timestamp() AND (NOT v_over_mine OR precedence = v_precedence) ORDER BY id LIMIT 1;
                IF FOUND THEN
                    PERFORM cimdb.proxy_discard_queued(v_victim, 1::smallint, 'oldest expired message, discarded to make room');
                    v_discards := v_discards + 1;
                    CONTINUE;
                END IF;
                -- (2) the oldest bulk message with normal persistence
                IF NOT v_over_mine OR v_precedence = 2 THEN
                    SELECT id INTO v_victim FROM cimdb.proxy_message WHERE precedence = 2 AND persistence = 'normal' ORDER BY id LIMIT 1;
                    IF FOUND THEN
                        PERFORM cimdb.proxy_discard_queued(v_victim, 2::smallint, 'oldest bulk message of normal persistence, discarded to make room');
                        v_discards := v_discards + 1;
                        CONTINUE;
                    END IF;
                END IF;
                -- (3) a new bulk message is itself discarded
                IF v_precedence = 2 THEN
                    message_id := gen_random_uuid();
                    INSERT INTO cimdb.proxy_discard (rule, reason, message_id, precedence, persistence, kind, integrator, instance, event_id, bytes)
                    VALUES (3, 'new bulk message, no room', message_id, v_precedence, p_persistence, p_kind, p_integrator, p_instance, p_event_id, v_bytes);
                    outcome := 'discarded';
                    detail := format('no room for a bulk message of %s bytes: discarded (rule 3)', v_bytes);
                    RETURN;
                END IF;
                -- (4) for a new urgent message, the oldest normal message with normal persistence
                IF v_precedence = 0 AND NOT v_over_mine THEN
                    SELECT id INTO v_victim FROM cimdb.proxy_message WHERE precedence = 1 AND persistence = 'normal' ORDER BY id LIMIT 1;
                    IF FOUND THEN
                        PERFORM cimdb.proxy_discard_queued(v_victim, 4::smallint, 'oldest normal message of normal persistence, discarded for an urgent one');
                        v_discards := v_discards + 1;
                        CONTINUE;
                    END IF;
                END IF;
                -- (5) reject the new message
                RAISE EXCEPTION 'cimdb: proxy queue full' USING ERRCODE = 'CX005';
            END LOOP;
        EXCEPTION WHEN SQLSTATE 'CX005' THEN
            INSERT INTO cimdb.proxy_discard (rule, reason, precedence, persistence, kind, integrator, instance, event_id, bytes)
            VALUES (5, 'no room: the new message was rejected', v_precedence, p_persistence, p_kind, p_integrator, p_instance, p_event_id, v_bytes);
            INSERT INTO cimdb.proxy_log (what, detail)
            VALUES ('rejected', format('a %s %s message of %s bytes: the queue is full', cimdb.proxy_precedence_name(v_precedence), p_kind, v_bytes));
            PERFORM pg_notify('cimdb_proxy', 'rejected');
            outcome := 'rejected';
            detail := format('the queue is full: a %s message of %s bytes was rejected (rule 5)', cimdb.proxy_precedence_name(v_precedence), v_bytes);
            RETURN;
        END;
    END IF;

    INSERT INTO cimdb.proxy_message (precedence, persistence, kind, integrator, instance, event_id, body, bytes, expires_at)
    VALUES (v_precedence, p_persistence, p_kind, p_integrator, p_instance, p_event_id, p_body, v_bytes, clock_timestamp() + p_ttl)
    RETURNING proxy_message.message_id INTO message_id;
    IF v_exclusive THEN
        UPDATE cimdb.proxy_usage SET messages = messages + 1, bytes = bytes + v_bytes WHERE precedence = v_precedence;
    END IF;
    outcome := 'queued';
    IF v_discards > 0 THEN detail := format('%s older message(s) discarded to make room', v_discards); END IF;
    -- An urgent message wakes the forwarder at once; others are found by its next round (it
    -- looks again every 100 ms when idle). A NOTIFY makes commits take a global lock in turn:
    -- on every message it would serialize the enqueuers' commits.
    IF v_precedence = 0 THEN
        PERFORM pg_notify('cimdb_proxy', 'queued');
    END IF;
END $$;
COMMENT ON FUNCTION cimdb.proxy_enqueue IS 'Queues one message under the queue rules (size limits and discard rules 1–5, session mode); outcome queued, discarded (rule 3), dropped (session mode, proxy not acknowledged) or rejected (rule 5). 22023: bad parameters; 55000: integrator not acknowledged.';

-- Queues a control message (registrations, heartbeats): urgent, high persistence, no TTL. A
-- full queue is an error here (the caller's change is undone with it).
CREATE FUNCTION cimdb.proxy_enqueue_control(p_integrator uuid, p_kind text, p_instance text, p_body text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM cimdb.proxy_enqueue(p_integrator, p_kind, p_instance, NULL, 'urgent', 'high', NULL, p_body);
    IF r.outcome <> 'queued' THEN
        RAISE EXCEPTION 'cannot queue the % message: %', p_kind, r.detail USING ERRCODE = '53000';
    END IF;
    RETURN r.message_id;
END $$;

-- Registers an integrator (or finds its earlier registration): its handle. A registration the
-- upstream has not acknowledged is queued (again, unless one is waiting).
CREATE FUNCTION cimdb.proxy_register(p_name text, p_version text) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    v cimdb.proxy_integrator;
BEGIN
    IF coalesce(p_name, '') = '' OR coalesce(p_version, '') = '' THEN
        RAISE EXCEPTION 'an integrator needs a name and a version' USING ERRCODE = '22023';
    END IF;
    INSERT INTO cimdb.proxy_integrator (name, version) VALUES (p_name, p_version)
    ON CONFLICT (name, version) DO UPDATE SET last_call_at = now()
    RETURNING * INTO v;
    IF v.acknowledged_at IS NULL AND NOT EXISTS (
        SELECT 1 FROM cimdb.proxy_message WHERE kind = 'register-integrator' AND integrator = v.id
    ) THEN
        PERFORM cimdb.proxy_enqueue_control(v.id, 'register-integrator', NULL,
            json_build_object('integrator', v.id, 'name', v.name, 'version', v.version)::text);
    END IF;
    RETURN v.id;
END $$;

-- Registers support instances of an integrator (one, or a batch): the ones not registered yet
-- go upstream in one registration message. How many were new.
CREATE FUNCTION cimdb.proxy_register_instances(p_integrator uuid, p_instances text[], p_capabilities text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_new jsonb;
    v_count integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cimdb.proxy_integrator WHERE id = p_integrator) THEN
        RAISE EXCEPTION 'no integrator has the handle %', p_integrator USING ERRCODE = '22023';
    END IF;
    IF coalesce(cardinality(p_instances), 0) = 0 OR EXISTS (SELECT 1 FROM unnest(p_instances) i WHERE coalesce(i, '') = '') THEN
        RAISE EXCEPTION 'support instances need ids' USING ERRCODE = '22023';
    END IF;
    WITH given AS (
        SELECT i AS instance, c AS capabilities FROM unnest(p_instances, p_capabilities) AS g(i, c)
    ), changed AS (
        INSERT INTO cimdb.proxy_instance AS p (integrator, instance, capabilities)
        SELECT p_integrator, instance, capabilities FROM given
        ON CONFLICT (integrator, instance) DO UPDATE
            SET capabilities = excluded.capabilities, registered_at = now(), deregistered_at = NULL
            WHERE p.deregistered_at IS NOT NULL OR p.capabilities IS DISTINCT FROM excluded.capabilities
        RETURNING instance, capabilities
    )
    SELECT jsonb_agg(jsonb_build_object('instance', instance, 'capabilities', capabilities) ORDER BY instance), count(*)
    INTO v_new, v_count FROM changed;
    IF v_count > 0 THEN
        PERFORM cimdb.proxy_enqueue_control(p_integrator, 'register-instances', NULL,
            jsonb_build_object('integrator', p_integrator, 'instances', v_new)::text);
    END IF;
    RETURN v_count;
END $$;

-- Deregisters a support instance: kept (inactive), and the upstream told.
CREATE FUNCTION cimdb.proxy_deregister_instance(p_integrator uuid, p_instance text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cimdb.proxy_instance SET deregistered_at = now()
    WHERE integrator = p_integrator AND instance = p_instance AND deregistered_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'integrator % has no registered support instance %', p_integrator, p_instance USING ERRCODE = '22023';
    END IF;
    PERFORM cimdb.proxy_enqueue_control(p_integrator, 'deregister-instance', p_instance,
        jsonb_build_object('integrator', p_integrator, 'instance', p_instance)::text);
END $$;

-- Settings changes wake the forwarder; a size limit newly set recounts the usage, under the
-- exclusive queue lock (so no enqueuer or acknowledgement is half counted).
CREATE FUNCTION cimdb.proxy_settings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (new.total_bytes IS NOT NULL OR new.urgent_bytes IS NOT NULL OR new.normal_bytes IS NOT NULL OR new.bulk_bytes IS NOT NULL)
       AND old.total_bytes IS NULL AND old.urgent_bytes IS NULL AND old.normal_bytes IS NULL AND old.bulk_bytes IS NULL THEN
        PERFORM cimdb.proxy_lock_queue(true);
        UPDATE cimdb.proxy_usage u SET messages = coalesce(n.messages, 0), bytes = coalesce(n.bytes, 0)
        FROM (SELECT p.precedence, count(m.id) AS messages, sum(m.bytes) AS bytes
              FROM (VALUES (0::smallint), (1::smallint), (2::smallint)) AS p(precedence)
              LEFT JOIN cimdb.proxy_message m ON m.precedence = p.precedence GROUP BY p.precedence) n
        WHERE u.precedence = n.precedence;
    END IF;
    PERFORM pg_notify('cimdb_proxy', 'settings');
    RETURN NULL;
END $$;
CREATE TRIGGER proxy_settings_changed AFTER UPDATE ON cimdb.proxy_settings
    FOR EACH ROW EXECUTE FUNCTION cimdb.proxy_settings_changed();

-- The heartbeat: the status of every integrator (when it last called, its support instances)
-- and the proxy's own (its queue), queued as one message (normal precedence, TTL two periods;
-- one at a time).
CREATE FUNCTION cimdb.proxy_enqueue_heartbeat() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s cimdb.proxy_settings;
BEGIN
    SELECT * INTO s FROM cimdb.proxy_settings;
    IF EXISTS (SELECT 1 FROM cimdb.proxy_message WHERE kind = 'heartbeat') THEN
        RETURN;
    END IF;
    PERFORM cimdb.proxy_enqueue(NULL, 'heartbeat', NULL, NULL, 'normal', 'normal', 2 * s.heartbeat,
        jsonb_build_object(
            'proxy', jsonb_build_object('id', s.proxy_id, 'status', CASE WHEN s.stopped THEN 'stopped' ELSE 'forwarding' END,
                'queue', (SELECT jsonb_object_agg(cimdb.proxy_precedence_name(precedence), jsonb_build_object('messages', n, 'bytes', b))
                          FROM (SELECT precedence, count(*) AS n, sum(bytes) AS b FROM cimdb.proxy_message GROUP BY precedence) q)),
            'integrators', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                    'id', i.id, 'name', i.name, 'version', i.version, 'last_call_at', i.last_call_at,
                    'instances', (SELECT coalesce(jsonb_agg(p.instance ORDER BY p.instance), '[]'::jsonb)
                                  FROM cimdb.proxy_instance p WHERE p.integrator = i.id AND p.deregistered_at IS NULL))
                    ORDER BY i.name, i.version)
                FROM cimdb.proxy_integrator i), '[]'::jsonb))::text);
END $$;
