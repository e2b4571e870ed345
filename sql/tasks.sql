-- The task facility's reports (installed after reports.sql by every cimdb migrate; readable by
-- the roles of `cimdb db grant-reader` and by every cimdb user). Examples:
--
--   SELECT * FROM report.tasks ORDER BY id DESC LIMIT 10;
--   SELECT node, state, failure_cause, exit_code, stdout FROM report.task_targets WHERE task = 42;
--   SELECT * FROM report.task_failures ORDER BY failures DESC;
--   SELECT t.node, s.memory_gib, t.exit_code FROM report.task_targets t
--     JOIN report.node_summary s USING (node) WHERE t.task = 42;

-- An output as text: UTF-8 as it is, anything else with its bytes escaped (\ooo).
CREATE FUNCTION report.output_text(content bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
BEGIN
    RETURN convert_from(content, 'UTF8');
EXCEPTION WHEN OTHERS THEN
    RETURN encode(content, 'escape');
END
$$;
COMMENT ON FUNCTION report.output_text(bytea) IS 'An output as text: UTF-8 as is, other bytes escaped.';

-- One row per task, with its targets counted per state.
CREATE VIEW report.tasks AS
SELECT t.id, t.tool, t.user_name, t.state, t.arguments,
       cardinality(t.targets) AS targets,
       count(x.node) FILTER (WHERE x.state = 'PENDING') AS pending,
       count(x.node) FILTER (WHERE x.state = 'COPYING') AS copying,
       count(x.node) FILTER (WHERE x.state = 'RUNNING') AS running,
       count(x.node) FILTER (WHERE x.state = 'COMPLETE') AS complete,
       count(x.node) FILTER (WHERE x.state = 'FAILED') AS failed,
       count(x.node) FILTER (WHERE x.state = 'CANCELLED') AS cancelled,
       count(x.node) FILTER (WHERE x.state = 'KILLED') AS killed,
       t.created_at AS created, t.started_at AS started, t.finished_at AS finished,
       t.finished_at - t.started_at AS duration
FROM cimdb.task t LEFT JOIN cimdb.task_target x ON x.task = t.id
GROUP BY t.id;
COMMENT ON VIEW report.tasks IS 'One row per task: tool, who ran it, state, how many targets and how many in each target state, when it was created, started and finished.';

-- One row per target: how it ended and what it printed (outputs past their retention period
-- are NULL; the sizes, exit code and times stay).
CREATE VIEW report.task_targets AS
SELECT x.task, x.node, x.state, x.failure_cause, x.failure_detail, x.exit_code,
       report.output_text(o.content) AS stdout, report.output_text(e.content) AS stderr,
       o.content AS stdout_bytes, e.content AS stderr_bytes,
       x.stdout_bytes AS stdout_size, x.stderr_bytes AS stderr_size, x.stdout_truncated, x.stderr_truncated,
       x.bytes_copied, x.dispatched_at AS dispatched, x.started_at AS started, x.finished_at AS finished, x.finished_at - x.started_at AS duration,
       x.claimed_by AS server, k.tool, k.user_name
FROM cimdb.task_target x
JOIN cimdb.task k ON k.id = x.task
LEFT JOIN cimdb.task_output o ON o.hash = x.stdout_hash
LEFT JOIN cimdb.task_output e ON e.hash = x.stderr_hash;
COMMENT ON VIEW report.task_targets IS 'One row per task target: state, failure cause, exit code, stdout and stderr (as text, and as bytes), sizes (the whole stream, truncated or not), bytes copied, times (dispatched: last handed to the agent), the server that carried it.';

-- Every transition of a task (node NULL) or target.
CREATE VIEW report.task_log AS
SELECT id, time, task, node, state, cause, by_user, server FROM cimdb.task_transition;
COMMENT ON VIEW report.task_log IS 'Every state each task (node NULL) and target reached, with its time, cause and the server.';

-- Failures per node and tool.
CREATE VIEW report.task_failures AS
SELECT x.node, k.tool, count(*) AS failures, count(*) FILTER (WHERE x.failure_cause = 'exit status') AS nonzero_exits,
       count(*) FILTER (WHERE x.failure_cause = 'timeout') AS timeouts,
       count(*) FILTER (WHERE x.failure_cause IN ('agent unreachable', 'agent restarted')) AS agent_problems,
       max(x.finished_at) AS last_failure
FROM cimdb.task_target x JOIN cimdb.task k ON k.id = x.task
WHERE x.state = 'FAILED'
GROUP BY x.node, k.tool;
COMMENT ON VIEW report.task_failures IS 'Failed targets per node and tool, by cause, with the last failure.';

-- Who ran what.
CREATE VIEW report.task_users AS
SELECT user_name, tool, count(*) AS tasks, sum(cardinality(targets)) AS targets,
       count(*) FILTER (WHERE state = 'COMPLETE') AS complete, min(created_at) AS first_run, max(created_at) AS last_run
FROM cimdb.task GROUP BY user_name, tool;
COMMENT ON VIEW report.task_users IS 'Who ran which tool: how many tasks and targets, how many complete, first and last run.';

-- The access configuration, readable: who may run which tool where.
CREATE VIEW report.task_grants AS
SELECT a.user_name, a.role, r.tool, a.node, a.group_name
FROM cimdb.task_authorization a JOIN cimdb.role_tool r ON r.role = a.role;
COMMENT ON VIEW report.task_grants IS 'Who may run which tool on which node or node group (through which role).';
