-- 0003: the inventory — its configuration (inventory settings, inventory properties,
-- discovery monitors), the nodes, the instance log, update-monitor deployments, change events
-- and rejected results. SPEC.md §3–§5.

-- Scripts by content: settings and properties name a script by the SHA-256 of its bytes, so
-- that agents cache scripts by hash and fetch one again only when it changes.
CREATE TABLE cimdb.script (
    hash text PRIMARY KEY,                  -- lower-case hex SHA-256 of content
    content bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (hash = encode(sha256(content), 'hex'))
);
COMMENT ON TABLE cimdb.script IS 'Discovery, association and update scripts, by the SHA-256 of their content (text with a shebang, or a binary).';

CREATE DOMAIN cimdb.severity AS text CHECK (VALUE IN ('none', 'info', 'notice', 'warning', 'error', 'critical'));
COMMENT ON DOMAIN cimdb.severity IS 'Event severity; none means no event.';

CREATE DOMAIN cimdb.name AS text COLLATE "C" CHECK (VALUE ~ '^[^[:space:]]+$');
COMMENT ON DOMAIN cimdb.name IS 'An identifier without whitespace (inventory settings, monitors, nodes).';

-- Inventory settings: how the objects a discovery script finds become instances of a class.
CREATE TABLE cimdb.inventory_settings (
    id cimdb.name PRIMARY KEY,              -- InstanceID
    class_name text NOT NULL,
    parent cimdb.name REFERENCES cimdb.inventory_settings (id) DEFERRABLE INITIALLY DEFERRED,
    key_property_order text[] NOT NULL,     -- the order of the key fields in the script output
    discovery_script text NOT NULL REFERENCES cimdb.script (hash),
    association_script text REFERENCES cimdb.script (hash),
    created_severity cimdb.severity NOT NULL DEFAULT 'info',
    deleted_severity cimdb.severity NOT NULL DEFAULT 'warning',
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (parent IS DISTINCT FROM id)
);
COMMENT ON TABLE cimdb.inventory_settings IS 'Inventory settings: a model class, the script that discovers its instances on a node (one RS-separated line of key values per object), and the optional script that reports associations.';
COMMENT ON COLUMN cimdb.inventory_settings.parent IS 'ParentSettingInstanceID: when the parent found no instances on a node in a run, this settings object''s scripts are skipped there.';

-- Inventory properties: one updated property of a settings object's class.
CREATE TABLE cimdb.inventory_property (
    settings cimdb.name NOT NULL REFERENCES cimdb.inventory_settings (id) ON DELETE CASCADE,
    property_name text NOT NULL,
    update_script text NOT NULL REFERENCES cimdb.script (hash),
    update_period_ms bigint NOT NULL CHECK (update_period_ms > 0),
    update_timeout_ms bigint NOT NULL CHECK (update_timeout_ms > 0),
    changed_severity cimdb.severity NOT NULL DEFAULT 'info',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (settings, property_name)
);
COMMENT ON TABLE cimdb.inventory_property IS 'Inventory properties: the update script of one property of a settings object''s class, its period and timeout, and the severity of a value change.';

-- Discovery monitors: which settings run where and how often. `snapshot` holds the settings as
-- of the monitor's last (re)deployment: editing settings does not change a deployed monitor
-- until it is deployed again.
CREATE TABLE cimdb.discovery_monitor (
    name cimdb.name PRIMARY KEY,
    period_ms bigint NOT NULL CHECK (period_ms > 0),
    timeout_ms bigint NOT NULL CHECK (timeout_ms > 0),
    settings text[] NOT NULL,               -- run in this order
    targets text[] NOT NULL,                -- node names, node group names, or * for every node
    snapshot jsonb NOT NULL,
    deployed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE cimdb.discovery_monitor IS 'Discovery monitors: the settings they run, their period and timeout, the nodes or node groups they run on, and the settings as deployed.';

-- Nodes and node groups (overlapping membership).
CREATE TABLE cimdb.node (
    name cimdb.name PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_discovery_at timestamptz,
    last_update_at timestamptz
);
COMMENT ON TABLE cimdb.node IS 'The managed nodes; a node is recorded when its first result arrives or when it is enrolled.';
CREATE TABLE cimdb.node_group (
    name cimdb.name PRIMARY KEY,
    description text
);
CREATE TABLE cimdb.node_group_member (
    group_name cimdb.name NOT NULL REFERENCES cimdb.node_group (name) ON DELETE CASCADE,
    node cimdb.name NOT NULL REFERENCES cimdb.node (name) ON DELETE CASCADE,
    PRIMARY KEY (group_name, node)
);

-- The instance log: which node reports which instance, under which settings. An instance
-- exists while at least one node reports it (a shared file system, a switch seen by many).
CREATE TABLE cimdb.instance_source (
    node text COLLATE "C" NOT NULL,
    settings text COLLATE "C" NOT NULL,
    instance_id bigint NOT NULL REFERENCES cimdb.instance (id) ON DELETE CASCADE,
    first_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, settings, instance_id)
);
CREATE INDEX instance_source_instance ON cimdb.instance_source (instance_id);
COMMENT ON TABLE cimdb.instance_source IS 'The instance log: which nodes report an instance (and under which inventory settings). An instance is deleted when the last node stops reporting it.';

-- Per node and settings: what the last applied discovery run reported, for a fast path
-- (an unchanged output is not parsed again) and for reports.
CREATE TABLE cimdb.discovery_state (
    node text COLLATE "C" NOT NULL,
    settings text COLLATE "C" NOT NULL,
    monitor text COLLATE "C" NOT NULL,
    digest text NOT NULL,                   -- SHA-256 of the raw outputs last applied
    instance_count integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, settings)
);

-- The last applied sequence number of each node's monitor and update monitor: a result
-- delivered twice is applied once.
CREATE TABLE cimdb.discovery_run (
    node text COLLATE "C" NOT NULL,
    monitor text COLLATE "C" NOT NULL,
    sequence bigint NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, monitor)
);
CREATE TABLE cimdb.update_run (
    node text COLLATE "C" NOT NULL,
    settings text COLLATE "C" NOT NULL,
    property_name text COLLATE "C" NOT NULL,
    sequence bigint NOT NULL,
    digest text NOT NULL,
    -- Fingerprints of the applied output's lines (8 bytes each): the next output is read only
    -- where its lines are new. NULL: apply the next output in full.
    line_hashes bytea,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, settings, property_name)
) WITH (fillfactor = 70);  -- rewritten by every update result: room for HOT updates

-- Update monitors deployed on nodes: one per inventory property of a settings object, on every
-- node where the settings object has instances. Deployed when the first instance appears,
-- removed with the last; the property's configuration is copied at deployment (editing a
-- property affects update monitors deployed afterwards). Deleting the settings object or the
-- property removes them everywhere.
CREATE TABLE cimdb.update_deployment (
    node text COLLATE "C" NOT NULL,
    settings text COLLATE "C" NOT NULL,
    property_name text COLLATE "C" NOT NULL,
    update_script text NOT NULL,
    update_period_ms bigint NOT NULL,
    update_timeout_ms bigint NOT NULL,
    changed_severity cimdb.severity NOT NULL,
    deployed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, settings, property_name),
    FOREIGN KEY (settings, property_name) REFERENCES cimdb.inventory_property (settings, property_name) ON DELETE CASCADE
);
-- No index on (settings, property_name) for the foreign key: removing an inventory property is
-- rare and may scan; with one, the planner took it for per-node lookups and read every node's rows.
COMMENT ON TABLE cimdb.update_deployment IS 'Update monitors deployed on nodes: where a settings object has instances, one per inventory property, configured as the property was when deployed.';

-- Where each property value came from: the node and time of the update that last changed it.
CREATE TABLE cimdb.property_source (
    instance_id bigint NOT NULL REFERENCES cimdb.instance (id) ON DELETE CASCADE,
    property_name text NOT NULL,
    node text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance_id, property_name)
);
COMMENT ON TABLE cimdb.property_source IS 'The node and time of the update monitor result that last changed a property value.';

-- Change events: instances created and deleted, property values changed. New events are
-- announced with NOTIFY cimdb_event, payload {"first": id, "last": id}.
CREATE TABLE cimdb.event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time timestamptz NOT NULL DEFAULT now(),
    node text,
    kind text NOT NULL CHECK (kind IN ('created', 'deleted', 'changed')),
    class_name text NOT NULL,
    instance_path text NOT NULL,
    property text,
    old_value text,
    new_value text,
    severity cimdb.severity NOT NULL
);
-- BRIN: events arrive in time order, and a BRIN index costs next to nothing per insert.
CREATE INDEX event_time ON cimdb.event USING brin (time);
CREATE INDEX event_node_time ON cimdb.event (node, time);
COMMENT ON TABLE cimdb.event IS 'Inventory change events: instances created or deleted, property values changed (old and new value as text). NOTIFY cimdb_event announces new ones.';

-- Results that were not applied, with the raw input and every reason.
CREATE TABLE cimdb.rejected_result (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL CHECK (kind IN ('discovery', 'update')),
    node text,
    monitor text,
    settings text,
    property_name text,
    raw bytea NOT NULL,
    errors text[] NOT NULL
);
COMMENT ON TABLE cimdb.rejected_result IS 'Discovery and update results that were rejected: the raw input as received, and every error (node, monitor, settings, line and column).';
