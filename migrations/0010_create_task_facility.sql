-- 0010: the task facility (SPEC §6, issue "Task facility"): users, roles, tools, node groups
-- with dynamic membership, authorizations and limits; tasks, their targets, every state
-- transition, and outputs stored once by content hash.
--
-- Identity and enforcement live here, where nothing can go around them. A cimdb user is the
-- PostgreSQL role of the session (session_user). The tables below are the owner's alone:
-- ordinary roles have no privilege on them, and change them only through the SECURITY DEFINER
-- functions at the end of this file, which check the rules (and run with a fixed search_path,
-- so a user's own objects cannot stand in for ours). A trusted user (cimdb.app_user.trusted,
-- or the database's owner, or a superuser) may change the access configuration and run any
-- tool anywhere.

-- Users: PostgreSQL roles known to cimdb.
CREATE TABLE cimdb.app_user (
    name text COLLATE "C" PRIMARY KEY,
    trusted boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE cimdb.app_user IS 'cimdb users: PostgreSQL roles (the session_user of a session), trusted ones administer everything.';

-- Roles hold tools; a tool may be in many roles.
CREATE TABLE cimdb.task_role (
    name cimdb.name PRIMARY KEY
);
COMMENT ON TABLE cimdb.task_role IS 'Roles of the task facility (not PostgreSQL roles): each holds tools (cimdb.role_tool).';

-- A tool: argv (command, with {parameter} placeholders substituted into elements only) or a
-- shell line (parameters as CIMDB_ARG_* environment variables, never spliced in). With
-- `node`, the tool is multi-system aware: it runs once, on that node, with the targets in
-- CIMDB_TARGETS, and copies no files.
CREATE TABLE cimdb.tool (
    name cimdb.name PRIMARY KEY,
    command text[],
    shell text,
    node cimdb.name,
    parameters jsonb NOT NULL DEFAULT '[]',    -- [{"name": "path", "required": true}]
    files jsonb NOT NULL DEFAULT '[]',         -- [{"source": "/etc/hosts", "destination": "hosts"}]
    timeout_ms bigint NOT NULL DEFAULT 600000 CHECK (timeout_ms > 0),
    output_cap bigint NOT NULL DEFAULT 1048576 CHECK (output_cap >= 1024),
    CHECK ((command IS NULL) <> (shell IS NULL)),
    CHECK (command IS NULL OR cardinality(command) > 0),
    CHECK (node IS NULL OR files = '[]'::jsonb)
);
COMMENT ON TABLE cimdb.tool IS 'Tools the task facility runs: an argv (command) or a shell line; with node, multi-system aware (runs once on that node, targets in CIMDB_TARGETS).';

CREATE TABLE cimdb.role_tool (
    role cimdb.name NOT NULL REFERENCES cimdb.task_role (name) ON DELETE CASCADE,
    tool cimdb.name NOT NULL REFERENCES cimdb.tool (name) ON DELETE CASCADE,
    PRIMARY KEY (role, tool)
);
COMMENT ON TABLE cimdb.role_tool IS 'Which tools each role holds.';

-- Node groups gain a membership of their own: a static list of names (nodes enrolled later
-- join it: a trigger below keeps cimdb.node_group_member current) or an SQL predicate over
-- report.node_summary, evaluated when a task is submitted.
ALTER TABLE cimdb.node_group
    ADD COLUMN node_list text[] COLLATE "C",
    ADD COLUMN where_clause text,
    ADD CHECK (node_list IS NULL OR where_clause IS NULL);
COMMENT ON COLUMN cimdb.node_group.node_list IS 'Static membership: these names (expanded from the node set written in the access file), enrolled or not yet.';
COMMENT ON COLUMN cimdb.node_group.where_clause IS 'Dynamic membership: an SQL condition over report.node_summary, evaluated at each task submission.';

CREATE FUNCTION cimdb.node_joins_static_groups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cimdb.node_group_member (group_name, node)
    SELECT g.name, NEW.name FROM cimdb.node_group g WHERE NEW.name = ANY (g.node_list)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER joins_static_groups AFTER INSERT ON cimdb.node FOR EACH ROW EXECUTE FUNCTION cimdb.node_joins_static_groups();

-- Authorizations: a user holds a role on a node or on a node group (and so on the nodes that
-- join it later).
CREATE TABLE cimdb.task_authorization (
    user_name text COLLATE "C" NOT NULL REFERENCES cimdb.app_user (name) ON DELETE CASCADE,
    role cimdb.name NOT NULL REFERENCES cimdb.task_role (name) ON DELETE CASCADE,
    node cimdb.name,
    group_name cimdb.name REFERENCES cimdb.node_group (name) ON DELETE CASCADE,
    CHECK ((node IS NULL) <> (group_name IS NULL)),
    UNIQUE NULLS NOT DISTINCT (user_name, role, node, group_name)
);
COMMENT ON TABLE cimdb.task_authorization IS 'Who may run the tools of which role on which node or node group.';

-- The limits, over all servers together.
CREATE TABLE cimdb.task_limits (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    tasks integer NOT NULL DEFAULT 10 CHECK (tasks > 0),
    targets integer NOT NULL DEFAULT 16 CHECK (targets > 0),
    output_retention interval NOT NULL DEFAULT interval '90 days'
);
INSERT INTO cimdb.task_limits DEFAULT VALUES;
COMMENT ON TABLE cimdb.task_limits IS 'At most `tasks` tasks RUNNING and `targets` targets in flight, over every server; outputs kept for output_retention.';

-- Every change to the access configuration, with who made it and the old and new values.
CREATE TABLE cimdb.access_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time timestamptz NOT NULL DEFAULT clock_timestamp(),
    user_name text NOT NULL DEFAULT session_user,
    object text NOT NULL,
    old_value jsonb,
    new_value jsonb
);
COMMENT ON TABLE cimdb.access_log IS 'Every change to users, roles, tools, groups, authorizations and limits: who (session_user), when, old and new row.';

CREATE FUNCTION cimdb.log_access_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cimdb.access_log (object, old_value, new_value)
    VALUES (TG_TABLE_NAME,
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
CREATE TRIGGER logged AFTER INSERT OR UPDATE OR DELETE ON cimdb.app_user FOR EACH ROW EXECUTE FUNCTION cimdb.log_access_change();
CREATE TRIGGER logged AFTER INSERT OR UPDATE OR DELETE ON cimdb.task_role FOR EACH ROW EXECUTE FUNCTION cimdb.log_access_change();
CREATE TRIGGER logged AFTER INSERT OR UPDATE OR DELETE ON cimdb.tool FOR EACH ROW EXECUTE FUNCTION cimdb.log_access_change();
CREATE TRIGGER logged AFTER INSERT OR UPDATE OR DELETE ON cimdb.role_tool FOR EACH ROW EXECUTE FUNCTION cimdb.log_access_change();
CREATE TRIGGER logged AFTER INSERT OR UPDATE OR DELETE ON cimdb.node_group FOR EACH ROW EXECUTE FUNCTION cimdb.log_access_change();
CREATE TRIGGER logged AFTER INSERT OR UPDATE OR DELETE ON cimdb.task_authorization FOR EACH ROW EXECUTE FUNCTION cimdb.log_access_change();
CREATE TRIGGER logged AFTER INSERT OR UPDATE OR DELETE ON cimdb.task_limits FOR EACH ROW EXECUTE FUNCTION cimdb.log_access_change();

-- Tasks. `definition` is the tool as it was run: argv with the parameters substituted (or
-- the shell line), the environment, the timeout and output cap, the fixed node of a
-- multi-system tool, the targets.
CREATE TABLE cimdb.task (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tool text COLLATE "C" NOT NULL,
    user_name text COLLATE "C" NOT NULL,
    arguments jsonb NOT NULL DEFAULT '{}',
    definition jsonb NOT NULL,
    targets text[] COLLATE "C" NOT NULL,
    state text NOT NULL DEFAULT 'PENDING'
        CHECK (state IN ('PENDING', 'RUNNING', 'COMPLETE', 'FAILED', 'SOME_FAILURES', 'CANCELLED')),
    cancel_requested_at timestamptz,
    kill_requested_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX task_open ON cimdb.task (id) WHERE state IN ('PENDING', 'RUNNING');
COMMENT ON TABLE cimdb.task IS 'Tasks: one tool run on a set of targets by a user (cimdb task run); state as SPEC §6.';

-- The files a task copies, read by the database when the task was submitted.
CREATE TABLE cimdb.task_file (
    task bigint NOT NULL REFERENCES cimdb.task (id) ON DELETE CASCADE,
    destination text NOT NULL,
    content bytea NOT NULL,
    PRIMARY KEY (task, destination)
);
COMMENT ON TABLE cimdb.task_file IS 'The files each task copies to its targets before it runs, as read at submission.';

-- Outputs, stored once per distinct content (SHA-256); dropped after the retention period
-- without touching the targets that name them.
CREATE TABLE cimdb.task_output (
    hash text COLLATE "C" PRIMARY KEY,
    content bytea NOT NULL,
    last_used_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE cimdb.task_output IS 'Distinct task outputs (standard output or error as kept: head and tail when over the cap), by SHA-256.';

CREATE TABLE cimdb.task_target (
    task bigint NOT NULL REFERENCES cimdb.task (id) ON DELETE CASCADE,
    node text COLLATE "C" NOT NULL,
    state text NOT NULL DEFAULT 'PENDING'
        CHECK (state IN ('PENDING', 'COPYING', 'RUNNING', 'COMPLETE', 'FAILED', 'CANCELLED', 'KILLED')),
    failure_cause text CHECK (failure_cause IN ('exit status', 'timeout', 'copy failed', 'agent unreachable',
        'agent restarted', 'refused by agent', 'signature refused', 'could not start', 'killed by signal')),
    failure_detail text,
    exit_code integer,
    stdout_hash text COLLATE "C",
    stderr_hash text COLLATE "C",
    stdout_bytes bigint,
    stderr_bytes bigint,
    stdout_truncated boolean,
    stderr_truncated boolean,
    bytes_copied bigint,
    claimed_by text,            -- the server that handed it to its agent and awaits its answer
    claimed_at timestamptz,
    dispatched_at timestamptz,  -- when it was last handed to its agent (kept once it ends)
    deliveries integer NOT NULL DEFAULT 0,
    refusals integer NOT NULL DEFAULT 0,
    next_try_at timestamptz NOT NULL DEFAULT '-infinity',
    kill_sent_at timestamptz,
    started_at timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (task, node)
);
CREATE INDEX task_target_open ON cimdb.task_target (task) WHERE state IN ('PENDING', 'COPYING', 'RUNNING');
-- What the dispatch reads at every hand-over: the targets in flight, the ones waiting by node.
CREATE INDEX task_target_in_flight ON cimdb.task_target (task) WHERE claimed_by IS NOT NULL AND state IN ('PENDING', 'COPYING', 'RUNNING');
CREATE INDEX task_target_waiting ON cimdb.task_target (task, (refusals > 0), node) WHERE state = 'PENDING' AND claimed_by IS NULL;
COMMENT ON TABLE cimdb.task_target IS 'One row per node a task runs on: its state, failure cause, exit code, outputs (by hash in cimdb.task_output), bytes copied, times.';

-- What agents tell the servers of their task runs: when each last asked for work.
CREATE TABLE cimdb.task_agent (
    node text COLLATE "C" PRIMARY KEY,
    polled_at timestamptz NOT NULL,
    server text
);
COMMENT ON TABLE cimdb.task_agent IS 'When each node''s agent last asked a server for task work (a long poll), and which server.';

-- Every transition of a task or target, timestamped.
CREATE TABLE cimdb.task_transition (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time timestamptz NOT NULL DEFAULT clock_timestamp(),
    task bigint NOT NULL,
    node text COLLATE "C",      -- NULL: the task's own state
    state text NOT NULL,
    cause text,
    by_user text NOT NULL DEFAULT session_user,
    server text
);
CREATE INDEX task_transition_task ON cimdb.task_transition (task, id);
COMMENT ON TABLE cimdb.task_transition IS 'Every state a task (node NULL) or target reached, with its time (and the failure cause, the server that carried it).';

-- The runner states agents report (SPEC §6), one row each.
CREATE TABLE cimdb.task_runner_state (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time timestamptz NOT NULL DEFAULT clock_timestamp(),
    task bigint NOT NULL,
    node text COLLATE "C" NOT NULL,
    state text NOT NULL CHECK (state IN ('PENDING', 'COPYING', 'RUNNING', 'FAILED', 'CANCELLED', 'KILLED', 'COMPLETE', 'REFUSED')),
    detail text
);
CREATE INDEX task_runner_state_task ON cimdb.task_runner_state (task, node);
COMMENT ON TABLE cimdb.task_runner_state IS 'The states each agent''s runner reported for a target (PENDING, COPYING, RUNNING, FAILED, CANCELLED, KILLED; COMPLETE and REFUSED: at capacity).';

CREATE FUNCTION cimdb.log_task_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state THEN
        IF TG_TABLE_NAME = 'task' THEN
            INSERT INTO cimdb.task_transition (task, state) VALUES (NEW.id, NEW.state);
        ELSE
            INSERT INTO cimdb.task_transition (task, node, state, cause, server)
            VALUES (NEW.task, NEW.node, NEW.state, NEW.failure_cause, NEW.claimed_by);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER transitions AFTER INSERT OR UPDATE OF state ON cimdb.task FOR EACH ROW EXECUTE FUNCTION cimdb.log_task_transition();
CREATE TRIGGER transitions AFTER INSERT OR UPDATE OF state ON cimdb.task_target FOR EACH ROW EXECUTE FUNCTION cimdb.log_task_transition();

-- ---------------------------------------------------------------------------------------
-- The rules. Functions below run as the owner (SECURITY DEFINER) with search_path fixed to
-- pg_catalog: every name they use is schema-qualified.

-- Whether the session's user is trusted: marked so, the database's owner, or a superuser.
CREATE FUNCTION cimdb.is_trusted() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT EXISTS (SELECT 1 FROM cimdb.app_user WHERE name = session_user AND trusted)
        OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = session_user AND rolsuper)
        OR session_user = (SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = current_database())
$$;

CREATE FUNCTION cimdb.require_trusted(what text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF NOT cimdb.is_trusted() THEN
        RAISE EXCEPTION 'only a trusted user may %', what USING ERRCODE = 'insufficient_privilege',
            HINT = 'ask a trusted user to run it, or to make you trusted (cimdb user add ' || session_user || ' --trusted)';
    END IF;
END
$$;

-- The members of a group now: its static names that are nodes, its inventory members, and
-- the nodes its condition selects.
CREATE FUNCTION cimdb.group_members(group_name text) RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    g record;
BEGIN
    SELECT * INTO g FROM cimdb.node_group WHERE name = group_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no node group named %', group_name USING ERRCODE = 'undefined_object';
    END IF;
    RETURN QUERY SELECT m.node::text FROM cimdb.node_group_member m WHERE m.group_name = g.name;
    IF g.where_clause IS NOT NULL THEN
        -- Written by a trusted user (only they change groups); run as a condition, nothing else.
        RETURN QUERY EXECUTE 'SELECT node::text FROM report.node_summary WHERE (' || g.where_clause || ')';
    END IF;
END
$$;

-- A user, created as a PostgreSQL role with LOGIN when there is none.
CREATE FUNCTION cimdb.put_user(user_name text, trusted boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    PERFORM cimdb.require_trusted('add or change users');
    IF user_name !~ '^[a-z_][a-z0-9_.-]{0,62}$' THEN
        RAISE EXCEPTION 'user name % is not a plain role name (lower-case letters, digits, _ . -; at most 63)', pg_catalog.quote_literal(user_name);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = user_name) THEN
        EXECUTE pg_catalog.format('CREATE ROLE %I LOGIN', user_name);
    END IF;
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA cimdb TO %I', user_name);
    INSERT INTO cimdb.app_user (name, trusted) VALUES (user_name, trusted)
    ON CONFLICT (name) DO UPDATE SET trusted = EXCLUDED.trusted WHERE cimdb.app_user.trusted IS DISTINCT FROM EXCLUDED.trusted;
END
$$;

-- Changes to the access configuration, one object at a time (`cimdb access apply` computes
-- the difference and calls these in one transaction).
CREATE FUNCTION cimdb.put_access(kind text, name text, definition jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    members text[];
BEGIN
    PERFORM cimdb.require_trusted('change the access configuration');
    CASE kind
    WHEN 'role' THEN
        INSERT INTO cimdb.task_role (name) VALUES (name) ON CONFLICT DO NOTHING;
        DELETE FROM cimdb.role_tool r WHERE r.role = put_access.name
            AND r.tool <> ALL (ARRAY(SELECT pg_catalog.jsonb_array_elements_text(coalesce(definition -> 'tools', '[]'))));
        INSERT INTO cimdb.role_tool (role, tool)
        SELECT put_access.name, t FROM pg_catalog.jsonb_array_elements_text(coalesce(definition -> 'tools', '[]')) t
        ON CONFLICT DO NOTHING;
    WHEN 'tool' THEN
        INSERT INTO cimdb.tool (name, command, shell, node, parameters, files, timeout_ms, output_cap)
        VALUES (name,
                CASE WHEN definition ? 'command' THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(definition -> 'command')) END,
                definition ->> 'shell', definition ->> 'node',
                coalesce(definition -> 'parameters', '[]'), coalesce(definition -> 'files', '[]'),
                coalesce((definition ->> 'timeout_ms')::bigint, 600000), coalesce((definition ->> 'output_cap')::bigint, 1048576))
        ON CONFLICT ON CONSTRAINT tool_pkey DO UPDATE SET command = EXCLUDED.command, shell = EXCLUDED.shell, node = EXCLUDED.node,
            parameters = EXCLUDED.parameters, files = EXCLUDED.files, timeout_ms = EXCLUDED.timeout_ms, output_cap = EXCLUDED.output_cap;
    WHEN 'group' THEN
        IF definition ? 'where' THEN
            BEGIN
                -- The condition must run now: an error here, not at the first task.
                EXECUTE 'SELECT count(*) FROM report.node_summary WHERE (' || (definition ->> 'where') || ')';
            EXCEPTION WHEN OTHERS THEN
                RAISE EXCEPTION 'group %: its where condition fails on report.node_summary: %', name, SQLERRM;
            END;
        END IF;
        members := CASE WHEN definition ? 'nodes' THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(definition -> 'nodes')) END;
        INSERT INTO cimdb.node_group (name, node_list, where_clause) VALUES (name, members, definition ->> 'where')
        ON CONFLICT ON CONSTRAINT node_group_pkey DO UPDATE SET node_list = EXCLUDED.node_list, where_clause = EXCLUDED.where_clause;
        DELETE FROM cimdb.node_group_member m WHERE m.group_name = put_access.name AND m.node <> ALL (coalesce(members, '{}'));
        INSERT INTO cimdb.node_group_member (group_name, node)
        SELECT put_access.name, n.name FROM cimdb.node n WHERE n.name = ANY (members) ON CONFLICT DO NOTHING;
    WHEN 'authorization' THEN
        INSERT INTO cimdb.task_authorization (user_name, role, node, group_name)
        VALUES (definition ->> 'user', definition ->> 'role', definition ->> 'node', definition ->> 'group')
        ON CONFLICT DO NOTHING;
    WHEN 'limits' THEN
        UPDATE cimdb.task_limits SET
            tasks = coalesce((definition ->> 'tasks')::integer, 10),
            targets = coalesce((definition ->> 'targets')::integer, 16),
            output_retention = coalesce((definition ->> 'output_retention')::interval, interval '90 days');
    ELSE
        RAISE EXCEPTION 'unknown kind of access object: %', kind;
    END CASE;
END
$$;

CREATE FUNCTION cimdb.delete_access(kind text, name text, definition jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    PERFORM cimdb.require_trusted('change the access configuration');
    CASE kind
    WHEN 'user' THEN DELETE FROM cimdb.app_user u WHERE u.name = delete_access.name;  -- the PostgreSQL role stays
    WHEN 'role' THEN DELETE FROM cimdb.task_role r WHERE r.name = delete_access.name;
    WHEN 'tool' THEN DELETE FROM cimdb.tool t WHERE t.name = delete_access.name;
    WHEN 'group' THEN DELETE FROM cimdb.node_group g WHERE g.name = delete_access.name;
    WHEN 'authorization' THEN
        DELETE FROM cimdb.task_authorization a WHERE a.user_name = definition ->> 'user' AND a.role = definition ->> 'role'
            AND a.node IS NOT DISTINCT FROM definition ->> 'node' AND a.group_name IS NOT DISTINCT FROM definition ->> 'group';
    ELSE
        RAISE EXCEPTION 'unknown kind of access object: %', kind;
    END CASE;
END
$$;

-- The access configuration as it is, in the access file's shape (readable by anyone who may
-- submit tasks: what they may run is no secret to them).
CREATE FUNCTION cimdb.access_configuration() RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
SELECT jsonb_build_object(
    'users', coalesce((SELECT jsonb_agg(jsonb_build_object('name', name, 'trusted', trusted) ORDER BY name) FROM cimdb.app_user), '[]'),
    'roles', coalesce((SELECT jsonb_agg(jsonb_build_object('name', r.name, 'tools',
                 coalesce((SELECT jsonb_agg(t.tool ORDER BY t.tool) FROM cimdb.role_tool t WHERE t.role = r.name), '[]')) ORDER BY r.name)
             FROM cimdb.task_role r), '[]'),
    'tools', coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('name', name, 'command', to_jsonb(command), 'shell', shell,
                 'node', node, 'parameters', parameters, 'files', files, 'timeout_ms', timeout_ms, 'output_cap', output_cap)) ORDER BY name)
             FROM cimdb.tool), '[]'),
    'groups', coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('name', name, 'nodes', to_jsonb(node_list), 'where', where_clause)) ORDER BY name)
             FROM cimdb.node_group), '[]'),
    'authorizations', coalesce((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('user', user_name, 'role', role, 'node', node, 'group', group_name))
                 ORDER BY user_name, role, node, group_name) FROM cimdb.task_authorization), '[]'),
    'limits', (SELECT jsonb_build_object('tasks', tasks, 'targets', targets, 'output_retention', output_retention::text) FROM cimdb.task_limits))
$$;

-- Submits a task: validate, authorize all or none, read the files, create. Nothing is created
-- (and so nothing dispatched) unless every check passes. Raises with the reason otherwise; a
-- refused authorization names every target that is not authorized (DETAIL: one per line) and
-- the roles that hold the tool (HINT).
CREATE FUNCTION cimdb.submit_task(tool_name text, nodes text[], groups text[], arguments jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    t cimdb.tool;
    me text := session_user;
    trusted boolean := cimdb.is_trusted();
    targets text[];
    missing text[];
    denied text[];
    parameter jsonb;
    unknown text[];
    argv text[];
    environment jsonb := '{}';
    task_id bigint;
    f jsonb;
    content bytea;
    g text;
BEGIN
    IF NOT trusted AND NOT EXISTS (SELECT 1 FROM cimdb.app_user WHERE name = me) THEN
        RAISE EXCEPTION 'role % is not a cimdb user', me USING ERRCODE = 'insufficient_privilege',
            HINT = 'a trusted user adds it: cimdb user add ' || me;
    END IF;
    SELECT * INTO t FROM cimdb.tool WHERE name = tool_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no tool named %', tool_name USING ERRCODE = 'undefined_object',
            HINT = 'the tools are listed by cimdb access show';
    END IF;
    arguments := coalesce(arguments, '{}');
    -- Targets: the nodes named and the members of the groups named, now.
    targets := coalesce(nodes, '{}');
    FOREACH g IN ARRAY coalesce(groups, '{}') LOOP
        targets := targets || ARRAY(SELECT cimdb.group_members(g));
    END LOOP;
    targets := ARRAY(SELECT DISTINCT x FROM unnest(targets) x ORDER BY x);
    IF cardinality(targets) = 0 THEN
        RAISE EXCEPTION 'no targets: name nodes or groups with members' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    missing := ARRAY(SELECT x FROM unnest(targets) x WHERE NOT EXISTS (SELECT 1 FROM cimdb.node_credential c WHERE c.node = x));
    IF cardinality(missing) > 0 THEN
        RAISE EXCEPTION '% of % targets are not enrolled nodes', cardinality(missing), cardinality(targets)
            USING ERRCODE = 'invalid_parameter_value', DETAIL = array_to_string(missing, E'\n');
    END IF;
    -- Parameters: every required one given, no unknown one.
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(arguments) k
                     WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(t.parameters) p WHERE p ->> 'name' = k));
    IF cardinality(unknown) > 0 THEN
        RAISE EXCEPTION 'tool % has no parameter %', tool_name, array_to_string(unknown, ', ') USING ERRCODE = 'invalid_parameter_value',
            HINT = 'its parameters: ' || coalesce((SELECT string_agg(p ->> 'name', ', ') FROM jsonb_array_elements(t.parameters) p), 'none');
    END IF;
    FOR parameter IN SELECT * FROM jsonb_array_elements(t.parameters) LOOP
        IF coalesce((parameter ->> 'required')::boolean, false) AND NOT arguments ? (parameter ->> 'name') THEN
            RAISE EXCEPTION 'tool % needs the parameter % (--arg %=VALUE)', tool_name, parameter ->> 'name', parameter ->> 'name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    -- Authorization, all or none.
    IF NOT trusted THEN
        denied := ARRAY(
            SELECT x FROM unnest(targets) x
            WHERE NOT EXISTS (
                SELECT 1 FROM cimdb.task_authorization a JOIN cimdb.role_tool rt ON rt.role = a.role AND rt.tool = t.name
                WHERE a.user_name = me
                  AND (a.node = x OR (a.group_name IS NOT NULL AND x IN (SELECT cimdb.group_members(a.group_name))))));
        IF cardinality(denied) > 0 THEN
            RAISE EXCEPTION '% is not authorized to run % on % of % targets; nothing was run', me, tool_name, cardinality(denied), cardinality(targets)
                USING ERRCODE = 'insufficient_privilege', DETAIL = array_to_string(denied, E'\n'),
                HINT = coalesce('roles that hold ' || tool_name || ': ' ||
                           (SELECT string_agg(rt.role, ', ' ORDER BY rt.role) FROM cimdb.role_tool rt WHERE rt.tool = t.name),
                           'no role holds ' || tool_name);
        END IF;
    END IF;
    -- Parameters go into argv elements (placeholders substituted, each element stays one
    -- argument) and always into the environment; never into a shell line.
    IF t.command IS NOT NULL THEN
        argv := t.command;
        FOR parameter IN SELECT * FROM jsonb_array_elements(t.parameters) LOOP
            argv := ARRAY(SELECT replace(a, '{' || (parameter ->> 'name') || '}', coalesce(arguments ->> (parameter ->> 'name'), ''))
                          FROM unnest(argv) WITH ORDINALITY AS e(a, i) ORDER BY i);
        END LOOP;
    END IF;
    SELECT coalesce(jsonb_object_agg('CIMDB_ARG_' || upper(regexp_replace(k, '[^A-Za-z0-9]', '_', 'g')), v), '{}')
      INTO environment FROM jsonb_each_text(arguments) AS a(k, v);
    INSERT INTO cimdb.task (tool, user_name, arguments, definition, targets)
    VALUES (t.name, me, arguments,
            jsonb_strip_nulls(jsonb_build_object('tool', t.name, 'argv', to_jsonb(argv), 'shell', t.shell, 'node', t.node,
                'environment', environment, 'timeout_ms', t.timeout_ms, 'output_cap', t.output_cap)),
            targets)
    RETURNING id INTO task_id;
    -- The files, read now by the database server (an unreadable one fails the task here,
    -- before any target is contacted; nothing of it remains).
    FOR f IN SELECT * FROM jsonb_array_elements(t.files) LOOP
        BEGIN
            content := pg_read_binary_file(f ->> 'source');
        EXCEPTION WHEN OTHERS THEN
            RAISE EXCEPTION 'tool %: cannot read the file % to copy: %; nothing was run', tool_name, f ->> 'source', SQLERRM
                USING ERRCODE = 'undefined_file';
        END;
        INSERT INTO cimdb.task_file (task, destination, content) VALUES (task_id, f ->> 'destination', content);
    END LOOP;
    INSERT INTO cimdb.task_target (task, node)
    SELECT task_id, x FROM unnest(CASE WHEN t.node IS NULL THEN targets ELSE ARRAY[t.node::text] END) x;
    PERFORM pg_notify('cimdb_tasks', task_id::text);
    RETURN task_id;
END
$$;

-- Ends a task's open targets early: `cancel` ends the pending ones CANCELLED; `kill` also asks
-- the agents to kill the running ones (they report KILLED once the process group is gone).
CREATE FUNCTION cimdb.stop_task(task_id bigint, kill boolean) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    owner text;
    now_state text;
BEGIN
    SELECT user_name, state INTO owner, now_state FROM cimdb.task WHERE id = task_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no task %', task_id USING ERRCODE = 'undefined_object';
    END IF;
    IF owner <> session_user AND NOT cimdb.is_trusted() THEN
        RAISE EXCEPTION 'task % is %''s: only they or a trusted user may stop it', task_id, owner USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF now_state NOT IN ('PENDING', 'RUNNING') THEN
        RETURN now_state;
    END IF;
    UPDATE cimdb.task SET cancel_requested_at = coalesce(cancel_requested_at, clock_timestamp()),
                          kill_requested_at = CASE WHEN kill THEN coalesce(kill_requested_at, clock_timestamp()) END
    WHERE id = task_id;
    -- Pending targets end now. One already handed to its agent: on cancel it ends too (the
    -- agent hears it in the answer to its first report and stops it; one without files to copy
    -- may have run for the quarter second before that report); on kill it is killed like the
    -- running ones, and its agent reports KILLED, or CANCELLED when it had not started it.
    UPDATE cimdb.task_target SET state = 'CANCELLED', finished_at = clock_timestamp()
    WHERE task = task_id AND state = 'PENDING' AND (NOT kill OR claimed_by IS NULL);
    PERFORM cimdb.finish_task_if_done(task_id);
    PERFORM pg_notify('cimdb_tasks', task_id::text);
    RETURN (SELECT state FROM cimdb.task WHERE id = task_id);
END
$$;

-- A task whose targets have all ended gets its final state.
CREATE FUNCTION cimdb.finish_task_if_done(task_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    c record;
BEGIN
    -- Most calls find targets still open: cheaply (the partial index), before counting.
    IF EXISTS (SELECT 1 FROM cimdb.task_target t WHERE t.task = task_id AND t.state IN ('PENDING', 'COPYING', 'RUNNING')) THEN
        RETURN;
    END IF;
    SELECT count(*) FILTER (WHERE state IN ('PENDING', 'COPYING', 'RUNNING')) AS open,
           count(*) FILTER (WHERE state = 'COMPLETE') AS complete,
           count(*) FILTER (WHERE state IN ('CANCELLED', 'KILLED')) AS stopped,
           count(*) AS total
      INTO c FROM cimdb.task_target WHERE task = task_id;
    IF c.open > 0 THEN
        RETURN;
    END IF;
    UPDATE cimdb.task SET finished_at = clock_timestamp(), started_at = coalesce(started_at, clock_timestamp()),
        state = CASE WHEN c.stopped > 0 THEN 'CANCELLED'
                     WHEN c.complete = c.total THEN 'COMPLETE'
                     WHEN c.complete = 0 THEN 'FAILED'
                     ELSE 'SOME_FAILURES' END
    WHERE id = task_id AND state IN ('PENDING', 'RUNNING');
END
$$;

-- For servers, once a second: targets handed over and never acknowledged go back to waiting
-- (the third time, they end FAILED: the agent refused the answers), targets of agents that
-- stopped asking end FAILED (agent unreachable). One server at a time.
CREATE FUNCTION cimdb.task_upkeep() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    stale record;
BEGIN
    PERFORM pg_advisory_xact_lock(7163376960224458357);  -- 'cimdbtsk', as claim_task_work
    FOR stale IN
        SELECT t.task, t.node, t.deliveries, k.cancel_requested_at IS NOT NULL AS cancelled
        FROM cimdb.task_target t JOIN cimdb.task k ON k.id = t.task
        WHERE t.claimed_by IS NOT NULL AND t.state = 'PENDING' AND t.claimed_at < clock_timestamp() - interval '15 seconds'
        FOR UPDATE OF t
    LOOP
        IF stale.cancelled THEN
            UPDATE cimdb.task_target t SET state = 'CANCELLED', claimed_by = NULL, finished_at = clock_timestamp()
            WHERE t.task = stale.task AND t.node = stale.node;
        ELSIF stale.deliveries >= 3 THEN
            UPDATE cimdb.task_target t SET state = 'FAILED', failure_cause = 'signature refused', claimed_by = NULL,
                failure_detail = 'handed to the agent 3 times and never acknowledged (did it refuse the server''s signature?)',
                finished_at = clock_timestamp()
            WHERE t.task = stale.task AND t.node = stale.node;
        ELSE
            UPDATE cimdb.task_target t SET claimed_by = NULL, claimed_at = NULL WHERE t.task = stale.task AND t.node = stale.node;
        END IF;
        PERFORM cimdb.finish_task_if_done(stale.task);
    END LOOP;
    -- Agents that stopped asking: 30 s for targets waiting, 60 s for running ones.
    FOR stale IN
        WITH quiet AS (
            SELECT t.task, t.node, a.polled_at FROM cimdb.task_target t
            JOIN cimdb.task k ON k.id = t.task
            LEFT JOIN cimdb.task_agent a ON a.node = t.node
            WHERE k.state = 'RUNNING' AND t.state IN ('PENDING', 'COPYING', 'RUNNING')
              AND ((t.claimed_by IS NULL AND t.state = 'PENDING' AND k.started_at < clock_timestamp() - interval '30 seconds'
                    AND coalesce(a.polled_at, '-infinity') < clock_timestamp() - interval '30 seconds')
                OR (t.state IN ('COPYING', 'RUNNING') AND coalesce(a.polled_at, '-infinity') < clock_timestamp() - interval '60 seconds')))
        UPDATE cimdb.task_target t SET state = 'FAILED', failure_cause = 'agent unreachable', claimed_by = NULL,
            failure_detail = 'the agent has not asked for work since ' || coalesce(q.polled_at::text, 'it was enrolled'),
            finished_at = clock_timestamp()
        FROM quiet q WHERE t.task = q.task AND t.node = q.node
        RETURNING t.task
    LOOP
        PERFORM cimdb.finish_task_if_done(stale.task);
    END LOOP;
END
$$;

-- For servers: admit waiting tasks and hand pending targets to the agents that wait on
-- `server_name` (cimdb.task_agent.server: where each agent's poll was last seen), within the
-- limits over all servers, and the kills due for them. `seen`: agents whose poll this server
-- has not recorded in a while. One server at a time (an advisory lock): the limits hold
-- across servers. Called at every freed place and new poll: it reads only the targets in
-- flight and the first waiting ones (partial indexes), however large the fleet.
CREATE FUNCTION cimdb.claim_task_work(server_name text, seen text[] DEFAULT '{}')
RETURNS TABLE (kind text, task bigint, node text, definition jsonb, targets text[], files jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    limits cimdb.task_limits;
    running integer;
    in_flight integer;
    budget integer;
    handed integer;
    open_task record;
    task_files jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock(7163376960224458357);  -- 'cimdbtsk'
    SELECT * INTO limits FROM cimdb.task_limits;
    IF cardinality(seen) > 0 THEN
        INSERT INTO cimdb.task_agent (node, polled_at, server)
        SELECT x, clock_timestamp(), server_name FROM unnest(seen) x
        ON CONFLICT ON CONSTRAINT task_agent_pkey DO UPDATE SET polled_at = EXCLUDED.polled_at, server = EXCLUDED.server;
    END IF;
    -- Admit waiting tasks, oldest first, up to the limit.
    SELECT count(*) INTO running FROM cimdb.task WHERE state = 'RUNNING';
    IF running < limits.tasks THEN
        UPDATE cimdb.task k SET state = 'RUNNING', started_at = clock_timestamp()
        WHERE k.id IN (SELECT id FROM cimdb.task WHERE state = 'PENDING' ORDER BY id LIMIT limits.tasks - running);
    END IF;
    -- Hand over pending targets of these nodes, within the targets in flight: first those no
    -- agent refused, then those whose retry is due.
    SELECT count(*) INTO in_flight FROM cimdb.task_target
    WHERE claimed_by IS NOT NULL AND state IN ('PENDING', 'COPYING', 'RUNNING');
    budget := limits.targets - in_flight;
    -- Oldest task first; within a task the targets no agent refused first, in the waiting
    -- index's order, each kept when its agent waits here (a lookup by node): the scan stops at
    -- the budget.
    FOR open_task IN SELECT k.id, k.definition, k.targets FROM cimdb.task k
                     WHERE k.state = 'RUNNING' AND k.cancel_requested_at IS NULL ORDER BY k.id LOOP
        EXIT WHEN budget <= 0;
        SELECT coalesce(jsonb_agg(jsonb_build_object('destination', f.destination, 'content', encode(f.content, 'base64')) ORDER BY f.destination), '[]')
          INTO task_files FROM cimdb.task_file f WHERE f.task = open_task.id;
        RETURN QUERY
        WITH chosen AS (
            SELECT t.task, t.node FROM cimdb.task_target t
            WHERE t.task = open_task.id AND t.state = 'PENDING' AND t.claimed_by IS NULL AND t.next_try_at <= clock_timestamp()
              AND EXISTS (SELECT 1 FROM cimdb.task_agent a WHERE a.node = t.node AND a.server = server_name
                          AND a.polled_at > clock_timestamp() - interval '30 seconds')
            ORDER BY t.refusals > 0, t.node
            LIMIT budget
            FOR UPDATE OF t SKIP LOCKED),
        claimed AS (
            UPDATE cimdb.task_target t SET claimed_by = server_name, claimed_at = clock_timestamp(), dispatched_at = clock_timestamp(),
                deliveries = t.deliveries + 1
            FROM chosen c WHERE t.task = c.task AND t.node = c.node
            RETURNING t.task, t.node)
        SELECT 'run'::text, c.task, c.node, open_task.definition, open_task.targets, task_files FROM claimed c;
        GET DIAGNOSTICS handed = ROW_COUNT;
        budget := budget - handed;
    END LOOP;
    -- Kills due: asked for, the target running on one of these nodes, not sent in the last 5 s
    -- (looked for only while a task being killed is open: most hand-overs have none).
    IF EXISTS (SELECT 1 FROM cimdb.task k WHERE k.state IN ('PENDING', 'RUNNING') AND k.kill_requested_at IS NOT NULL) THEN
        RETURN QUERY
        WITH killing AS (
            SELECT t.task, t.node FROM cimdb.task k
            JOIN cimdb.task_target t ON t.task = k.id
            JOIN cimdb.task_agent a ON a.node = t.node AND a.server = server_name
            WHERE k.state IN ('PENDING', 'RUNNING') AND k.kill_requested_at IS NOT NULL
              AND t.claimed_by IS NOT NULL AND t.state IN ('PENDING', 'COPYING', 'RUNNING')
              AND (t.kill_sent_at IS NULL OR t.kill_sent_at < clock_timestamp() - interval '5 seconds')),
        due AS (
            UPDATE cimdb.task_target t SET kill_sent_at = clock_timestamp()
            FROM killing x WHERE t.task = x.task AND t.node = x.node
            RETURNING t.task, t.node)
        SELECT 'kill'::text, d.task, d.node, NULL::jsonb, NULL::text[], NULL::jsonb FROM due d;
    END IF;
END
$$;

-- For servers: what an agent reports of a target. Runner states: COPYING and RUNNING move the
-- target on; REFUSED (the agent is at capacity) sends it back to wait a second; COMPLETE,
-- FAILED (with a cause), KILLED and CANCELLED end it with its outputs. Returns the target's
-- state afterwards: an agent told a running target ended (cancelled) kills it.
CREATE FUNCTION cimdb.report_task_target(
    task_id bigint, node_name text, server_name text, runner_state text, cause text, detail text, exit_code integer,
    stdout bytea, stderr bytea, stdout_bytes bigint, stderr_bytes bigint, stdout_truncated boolean, stderr_truncated boolean,
    bytes_copied bigint, started timestamptz, finished timestamptz)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    target cimdb.task_target;
    out_hash text;
    err_hash text;
BEGIN
    SELECT * INTO target FROM cimdb.task_target t WHERE t.task = task_id AND t.node = node_name FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no target % of task %', node_name, task_id USING ERRCODE = 'undefined_object';
    END IF;
    INSERT INTO cimdb.task_runner_state (task, node, state, detail) VALUES (task_id, node_name, runner_state, coalesce(cause || ': ', '') || detail);
    IF target.state NOT IN ('PENDING', 'COPYING', 'RUNNING') THEN
        RETURN target.state;  -- already ended (cancelled, or reported before): nothing changes
    END IF;
    CASE runner_state
    WHEN 'PENDING' THEN
        NULL;
    WHEN 'REFUSED' THEN
        UPDATE cimdb.task_target t SET claimed_by = NULL, claimed_at = NULL, refusals = t.refusals + 1,
            next_try_at = clock_timestamp() + interval '1 second'
        WHERE t.task = task_id AND t.node = node_name;
        PERFORM pg_notify('cimdb_tasks', '');
    WHEN 'COPYING', 'RUNNING' THEN
        UPDATE cimdb.task_target t SET state = runner_state, claimed_by = server_name,
            started_at = coalesce(t.started_at, started, clock_timestamp())
        WHERE t.task = task_id AND t.node = node_name;
    WHEN 'COMPLETE', 'FAILED', 'KILLED', 'CANCELLED' THEN
        IF stdout IS NOT NULL THEN
            out_hash := encode(sha256(stdout), 'hex');
            INSERT INTO cimdb.task_output (hash, content) VALUES (out_hash, stdout)
            ON CONFLICT ON CONSTRAINT task_output_pkey DO UPDATE SET last_used_at = now() WHERE cimdb.task_output.last_used_at < now() - interval '1 day';
        END IF;
        IF stderr IS NOT NULL THEN
            err_hash := encode(sha256(stderr), 'hex');
            INSERT INTO cimdb.task_output (hash, content) VALUES (err_hash, stderr)
            ON CONFLICT ON CONSTRAINT task_output_pkey DO UPDATE SET last_used_at = now() WHERE cimdb.task_output.last_used_at < now() - interval '1 day';
        END IF;
        UPDATE cimdb.task_target t SET state = runner_state, failure_cause = CASE WHEN runner_state = 'FAILED' THEN cause END,
            failure_detail = detail, exit_code = report_task_target.exit_code, claimed_by = server_name,
            stdout_hash = out_hash, stderr_hash = err_hash, stdout_bytes = report_task_target.stdout_bytes,
            stderr_bytes = report_task_target.stderr_bytes, stdout_truncated = report_task_target.stdout_truncated,
            stderr_truncated = report_task_target.stderr_truncated, bytes_copied = report_task_target.bytes_copied,
            started_at = coalesce(t.started_at, started), finished_at = coalesce(finished, clock_timestamp())
        WHERE t.task = task_id AND t.node = node_name;
        PERFORM cimdb.finish_task_if_done(task_id);
        -- A place in flight is free: every server looks for work to hand out.
        PERFORM pg_notify('cimdb_tasks', '');
    ELSE
        RAISE EXCEPTION 'unknown runner state %', runner_state USING ERRCODE = 'invalid_parameter_value';
    END CASE;
    RETURN (SELECT t.state FROM cimdb.task_target t WHERE t.task = task_id AND t.node = node_name);
END
$$;

-- Outputs no target of the retention period names are dropped; targets keep their hashes,
-- sizes and exit codes.
CREATE FUNCTION cimdb.forget_old_task_outputs() RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
    WITH gone AS (
        DELETE FROM cimdb.task_output o
        WHERE o.last_used_at < now() - (SELECT output_retention FROM cimdb.task_limits)
          AND NOT EXISTS (SELECT 1 FROM cimdb.task_target t
                          WHERE (t.stdout_hash = o.hash OR t.stderr_hash = o.hash)
                            AND coalesce(t.finished_at, now()) >= now() - (SELECT output_retention FROM cimdb.task_limits))
        RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- Only what the rules allow: the functions above are for everyone (each checks who calls),
-- the servers' ones for the owner alone; the tables for no one but the owner.
REVOKE ALL ON cimdb.app_user, cimdb.task_role, cimdb.tool, cimdb.role_tool, cimdb.task_authorization, cimdb.task_limits,
    cimdb.access_log, cimdb.task, cimdb.task_file, cimdb.task_output, cimdb.task_target, cimdb.task_agent,
    cimdb.task_transition, cimdb.task_runner_state FROM PUBLIC;
REVOKE ALL ON FUNCTION cimdb.claim_task_work(text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION cimdb.task_upkeep() FROM PUBLIC;
REVOKE ALL ON FUNCTION cimdb.report_task_target(bigint, text, text, text, text, text, integer, bytea, bytea, bigint, bigint, boolean,
    boolean, bigint, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION cimdb.forget_old_task_outputs() FROM PUBLIC;
REVOKE ALL ON FUNCTION cimdb.finish_task_if_done(bigint) FROM PUBLIC;
