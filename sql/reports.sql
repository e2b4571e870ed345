-- Report views and functions for psql users: schema `report`, rebuilt by every `cimdb migrate`
-- (it is dropped and created again, so edit this file, not the database). Roles given read
-- access with `cimdb db grant-reader ROLE` keep it across rebuilds.
--
--   SELECT * FROM report.node_summary WHERE memory_bytes < 8 * 1024^3;
--   SELECT * FROM report.recent_changes WHERE node = 'ti042' AND time > now() - interval '7 days';
--   SELECT * FROM report.compare_nodes('ti041', 'ti042');

CREATE SCHEMA report;
COMMENT ON SCHEMA report IS 'Readable reports over the inventory: one row per node, changes, overdue properties, counts, comparisons. Rebuilt by cimdb migrate.';

-- The instances each node reports, with their class (an instance reported by several nodes,
-- a shared file system, counts for each).
CREATE VIEW report.node_instance AS
SELECT s.node, s.settings, i.id AS instance_id, i.class_name, i.path
FROM cimdb.instance_source s JOIN cimdb.instance i ON i.id = s.instance_id;
COMMENT ON VIEW report.node_instance IS 'Which node reports which instance (under which inventory settings), with its class and instance path.';

-- Hardware per node: kept in report.node_hardware, so that node_summary answers from 10,000
-- stored rows instead of aggregating the whole instance log (over a second at 10,000 nodes).
-- Triggers put a node in report.node_hardware_dirty when what it aggregates may have changed
-- (an instance it reports came or went; a Description, Capacity, FileSystemSize or Speed was
-- set); node_summary computes the dirty nodes live, so it
-- is exact at every moment, and `cimdb server` recomputes them in the background
-- (report.refresh_node_hardware), so that few are dirty at a time.
CREATE TABLE report.node_hardware (
    node text COLLATE "C" PRIMARY KEY,
    hostname text,
    cpus bigint NOT NULL,
    cpu_model text,
    memory_bytes numeric,
    filesystem_bytes numeric,
    nics bigint NOT NULL,
    fastest_nic_bps numeric);
COMMENT ON TABLE report.node_hardware IS 'The hardware aggregates of node_summary, per node, as last computed (nodes in node_hardware_dirty are recomputed live by the view). Maintained by cimdb; read node_summary instead.';

CREATE TABLE report.node_hardware_dirty (node text COLLATE "C" PRIMARY KEY);
COMMENT ON TABLE report.node_hardware_dirty IS 'Nodes whose node_hardware row may be out of date: node_summary computes them live until cimdb server recomputes them.';

-- The aggregates of these nodes, computed from the inventory. Security definer: node_summary
-- calls it for readers, who may not read the instance log (cimdb.instance_source) themselves.
CREATE FUNCTION report.node_hardware_of(nodes text[]) RETURNS SETOF report.node_hardware
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
WITH source AS MATERIALIZED (
    SELECT node, instance_id FROM cimdb.instance_source WHERE node = ANY (nodes)),
system AS (
    SELECT s.node, min(c.name) AS hostname
    FROM source s JOIN cim.cim_computersystem c ON c.instance_id = s.instance_id GROUP BY s.node),
-- The CPU model is the most common one per node, from per-model counts.
models AS (
    SELECT s.node, p.description, count(*) AS n
    FROM source s JOIN cim.cim_processor p ON p.instance_id = s.instance_id GROUP BY s.node, p.description),
cpu AS (
    SELECT node, sum(n)::bigint AS cpus, (array_agg(description ORDER BY n DESC, description))[1] AS model FROM models GROUP BY node),
memory AS (
    SELECT s.node, sum(m.capacity) AS bytes
    FROM source s JOIN cim.cim_physicalmemory m ON m.instance_id = s.instance_id GROUP BY s.node),
disk AS (
    SELECT s.node, sum(f.filesystemsize) AS bytes
    FROM source s JOIN cim.cim_filesystem f ON f.instance_id = s.instance_id GROUP BY s.node),
nic AS (
    SELECT s.node, count(*) AS nics, max(e.speed) AS fastest
    FROM source s JOIN cim.cim_ethernetport e ON e.instance_id = s.instance_id GROUP BY s.node)
SELECT n.node, system.hostname, coalesce(cpu.cpus, 0), cpu.model, memory.bytes, disk.bytes, coalesce(nic.nics, 0), nic.fastest
FROM (SELECT DISTINCT node FROM source) n
LEFT JOIN system ON system.node = n.node
LEFT JOIN cpu ON cpu.node = n.node
LEFT JOIN memory ON memory.node = n.node
LEFT JOIN disk ON disk.node = n.node
LEFT JOIN nic ON nic.node = n.node
$$;
REVOKE ALL ON FUNCTION report.node_hardware_of(text[]) FROM PUBLIC;  -- granted to readers
COMMENT ON FUNCTION report.node_hardware_of(text[]) IS 'The hardware aggregates of these nodes (a node_hardware row each), computed from the inventory; node_summary uses it for nodes marked dirty.';

-- Recomputes up to `batch` dirty nodes (skipping nodes an open ingest transaction is changing:
-- it holds their dirty rows) and returns how many. `cimdb server` calls it every few seconds.
CREATE FUNCTION report.refresh_node_hardware(batch integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    picked text[];
BEGIN
    SELECT array_agg(node) INTO picked
    FROM (SELECT node FROM report.node_hardware_dirty ORDER BY node LIMIT batch FOR UPDATE SKIP LOCKED) d;
    IF picked IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM report.node_hardware WHERE node = ANY (picked);
    INSERT INTO report.node_hardware SELECT * FROM report.node_hardware_of(picked);
    DELETE FROM report.node_hardware_dirty WHERE node = ANY (picked);
    RETURN cardinality(picked);
END $$;
COMMENT ON FUNCTION report.refresh_node_hardware(integer) IS 'Recomputes up to batch nodes of node_hardware_dirty into node_hardware; returns how many. Run by cimdb server in the background.';

-- Marking a node dirty takes its row's lock until the ingest transaction ends (DO UPDATE, not
-- DO NOTHING): a refresh running meanwhile skips the node instead of computing it from data
-- the transaction has not committed yet and then declaring it clean.
CREATE FUNCTION report.mark_sources_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report.node_hardware_dirty (node)
    SELECT DISTINCT node FROM changed_sources ORDER BY node
    ON CONFLICT (node) DO UPDATE SET node = excluded.node;
    RETURN NULL;
END $$;
CREATE TRIGGER node_hardware_added AFTER INSERT ON cimdb.instance_source
    REFERENCING NEW TABLE AS changed_sources FOR EACH STATEMENT EXECUTE FUNCTION report.mark_sources_dirty();
CREATE TRIGGER node_hardware_removed AFTER DELETE ON cimdb.instance_source
    REFERENCING OLD TABLE AS changed_sources FOR EACH STATEMENT EXECUTE FUNCTION report.mark_sources_dirty();
COMMENT ON FUNCTION report.mark_sources_dirty() IS 'Trigger on cimdb.instance_source: marks the nodes whose reported instances came or went dirty in node_hardware_dirty.';

-- A value changed: every changed value is recorded in cimdb.property_source (which node set
-- it, when), a narrow table, so its new rows are cheap to look at. A change of a property the
-- aggregates use marks the nodes that report the instance. (Triggers on the class tables
-- themselves cost updates a third more: they keep a copy of every wide row updated.)
CREATE FUNCTION report.mark_values_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report.node_hardware_dirty (node)
    SELECT DISTINCT s.node
    FROM changed_values v JOIN cimdb.instance_source s ON s.instance_id = v.instance_id
    WHERE lower(v.property_name) IN ('description', 'capacity', 'filesystemsize', 'speed')
    ORDER BY s.node
    ON CONFLICT (node) DO UPDATE SET node = excluded.node;
    RETURN NULL;
END $$;
CREATE TRIGGER node_hardware_values_set AFTER INSERT ON cimdb.property_source
    REFERENCING NEW TABLE AS changed_values FOR EACH STATEMENT EXECUTE FUNCTION report.mark_values_dirty();
CREATE TRIGGER node_hardware_values_changed AFTER UPDATE ON cimdb.property_source
    REFERENCING NEW TABLE AS changed_values FOR EACH STATEMENT EXECUTE FUNCTION report.mark_values_dirty();
COMMENT ON FUNCTION report.mark_values_dirty() IS 'Trigger on cimdb.property_source: marks the nodes reporting an instance whose Description, Capacity, FileSystemSize or Speed was set dirty in node_hardware_dirty.';

-- Every node starts dirty (the schema was just rebuilt): exact at once, stored as the server
-- (or cimdb migrate) gets to it.
INSERT INTO report.node_hardware_dirty (node) SELECT name FROM cimdb.node;

CREATE VIEW report.node_summary AS
WITH hardware AS (
    SELECT h.* FROM report.node_hardware h
    WHERE NOT EXISTS (SELECT 1 FROM report.node_hardware_dirty d WHERE d.node = h.node)
    UNION ALL
    SELECT * FROM report.node_hardware_of(ARRAY(SELECT node FROM report.node_hardware_dirty)))
SELECT n.name AS node, h.hostname,
       coalesce(h.cpus, 0) AS cpus, h.cpu_model,
       h.memory_bytes, round(h.memory_bytes / 1024.0 ^ 3, 1) AS memory_gib,
       h.filesystem_bytes, round(h.filesystem_bytes / 1024.0 ^ 4, 2) AS filesystem_tib,
       coalesce(h.nics, 0) AS nics, h.fastest_nic_bps,
       n.last_discovery_at AS last_discovery, n.last_update_at AS last_update,
       (n.last_discovery_at IS NULL
        OR n.last_discovery_at < now() - 2 * interval '1 millisecond' * (SELECT coalesce(max(period_ms), 0) FROM cimdb.discovery_monitor)) AS stale
FROM cimdb.node n
LEFT JOIN hardware h ON h.node = n.name;
COMMENT ON VIEW report.node_summary IS 'One row per node: hostname, CPU count and most common model, memory and file-system totals (bytes and GiB/TiB), NIC count and fastest speed (bit/s), last discovery and update, and stale (no discovery within twice the longest discovery-monitor period).';

CREATE VIEW report.recent_changes AS
SELECT e.time, e.node, e.kind, regexp_replace(e.class_name, '^CIM_', '') AS class,
       substr(e.instance_path, length(e.class_name) + 2) AS instance,
       e.property,
       e.old_value, CASE WHEN e.old_value IS NOT NULL THEN cimdb.value_name(e.class_name, e.property, e.old_value) END AS old_name,
       e.new_value, CASE WHEN e.new_value IS NOT NULL THEN cimdb.value_name(e.class_name, e.property, e.new_value) END AS new_name,
       e.severity, e.class_name, e.instance_path, e.id
FROM cimdb.event e
ORDER BY e.id DESC;  -- ids are given in commit order: newest first, by the primary key
COMMENT ON VIEW report.recent_changes IS 'Inventory changes, newest first: instances created and deleted, property values changed (old and new value, with their ValueMap names where the property has one). Filter on time, e.g. WHERE time > now() - interval ''7 days''.';

CREATE VIEW report.overdue_properties AS
SELECT d.node, d.settings, d.property_name AS property,
       d.update_period_ms * interval '1 millisecond' AS period,
       r.applied_at AS last_update,
       now() - (coalesce(r.applied_at, d.deployed_at) + d.update_period_ms * interval '1 millisecond') AS overdue_by
FROM cimdb.update_deployment d
LEFT JOIN cimdb.update_run r ON r.node = d.node AND r.settings = d.settings AND r.property_name = d.property_name
WHERE coalesce(r.applied_at, d.deployed_at) + d.update_period_ms * interval '1 millisecond' < now();
COMMENT ON VIEW report.overdue_properties IS 'Deployed update monitors whose last result (or, never run, whose deployment) is older than their period: node, settings, property, period, last update, and by how much it is overdue.';

-- Each class table's own rows, counted table by table: an index-free count of each table is
-- several times faster than grouping the whole instance registry by class name.
CREATE FUNCTION report.own_instance_counts() RETURNS TABLE (class_key text, n bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT m.class_key, m.table_name FROM cimdb.model_class m LOOP
        class_key := c.class_key;
        EXECUTE format('SELECT count(*) FROM ONLY cim.%I', c.table_name) INTO n;
        IF n > 0 THEN
            RETURN NEXT;
        END IF;
    END LOOP;
END $$;

COMMENT ON FUNCTION report.own_instance_counts() IS 'Rows of each class table alone (its own instances, subclasses not included), classes without instances left out.';

CREATE VIEW report.instance_counts AS
WITH RECURSIVE own AS (
    SELECT class_key, n FROM report.own_instance_counts()),
lineage (class_key, ancestor_key) AS (
    SELECT class_key, class_key FROM cimdb.model_class
    UNION ALL
    SELECT l.class_key, lower(c.superclass) FROM lineage l JOIN cimdb.model_class c ON c.class_key = l.ancestor_key WHERE c.superclass IS NOT NULL)
SELECT c.name AS class_name, coalesce(sum(own.n), 0)::bigint AS instances,
       coalesce(max(own.n) FILTER (WHERE l.class_key = c.class_key), 0)::bigint AS own_instances,
       c.is_abstract, c.is_association
FROM cimdb.model_class c
JOIN lineage l ON l.ancestor_key = c.class_key
LEFT JOIN own ON own.class_key = l.class_key
GROUP BY c.name, c.is_abstract, c.is_association;
COMMENT ON VIEW report.instance_counts IS 'Instances per class of the model: instances counts the class and all its subclasses (as SELECT count(*) FROM the class does), own_instances the class alone.';

-- ValueMap names beside codes, for the default Linux classes.
CREATE VIEW report.ethernet_ports AS
SELECT s.node, e.systemname, e.deviceid, e.networkaddresses[1] AS mac, e.speed,
       e.porttype, cimdb.value_name('CIM_EthernetPort', 'PortType', e.porttype) AS port_type,
       e.fullduplex, e.instance_id
FROM cim.cim_ethernetport e JOIN cimdb.instance_source s ON s.instance_id = e.instance_id;
COMMENT ON VIEW report.ethernet_ports IS 'Ethernet ports by node: MAC, speed (bit/s), PortType code and name, full duplex.';

CREATE VIEW report.processors AS
SELECT s.node, p.systemname, p.deviceid, p.description, p.currentclockspeed AS mhz,
       p.family, cimdb.value_name('CIM_Processor', 'Family', p.family) AS family_name,
       p.stepping, p.addresswidth, p.instance_id
FROM cim.cim_processor p JOIN cimdb.instance_source s ON s.instance_id = p.instance_id;
COMMENT ON VIEW report.processors IS 'Processors by node: model, clock (MHz), Family code and name, stepping, address width.';

CREATE VIEW report.memory_modules AS
SELECT s.node, m.tag, m.capacity AS bytes,
       m.memorytype, cimdb.value_name('CIM_PhysicalMemory', 'MemoryType', m.memorytype) AS memory_type,
       m.formfactor, cimdb.value_name('CIM_PhysicalMemory', 'FormFactor', m.formfactor) AS form_factor, m.instance_id
FROM cim.cim_physicalmemory m JOIN cimdb.instance_source s ON s.instance_id = m.instance_id;
COMMENT ON VIEW report.memory_modules IS 'Memory modules by node: capacity (bytes), MemoryType and FormFactor codes and names.';

CREATE VIEW report.file_systems AS
SELECT s.node, f.csname AS system, f.name, f.filesystemtype AS type, f.filesystemsize AS bytes, f.availablespace AS available_bytes, f.instance_id
FROM cim.cim_filesystem f JOIN cimdb.instance_source s ON s.instance_id = f.instance_id;
COMMENT ON VIEW report.file_systems IS 'File systems by node: mount point, type, size and free space (bytes). A shared file system appears once per node that reports it.';

-- Two nodes' inventories side by side: instances are matched by class and instance path with
-- each node's own system name replaced by * wherever it stands alone (keys, tags such as
-- host/DIMM0, nested references), so that CPU0 on one node meets CPU0 on the other.
CREATE FUNCTION report.compare_nodes(a text, b text)
RETURNS TABLE (class_name text, instance text, property text, value_a text, value_b text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    pair record;
    row_a jsonb;
    row_b jsonb;
    key text;
BEGIN
    FOR pair IN
        WITH side AS (
            SELECT n.node, n.instance_id, n.class_name,
                   regexp_replace(n.path,
                                  '(^|[^A-Za-z0-9.-])' || replace(coalesce((SELECT min(c.name) FROM report.node_instance x JOIN cim.cim_computersystem c ON c.instance_id = x.instance_id WHERE x.node = n.node), n.node), '.', '\.') || '(?![A-Za-z0-9.-])',
                                  '\1*', 'g') AS generic
            FROM report.node_instance n WHERE n.node IN (a, b))
        SELECT coalesce(x.class_name, y.class_name) AS cls, coalesce(x.generic, y.generic) AS generic, x.instance_id AS id_a, y.instance_id AS id_b
        FROM (SELECT * FROM side WHERE node = a) x FULL JOIN (SELECT * FROM side WHERE node = b) y ON x.generic = y.generic
        ORDER BY 1, 2
    LOOP
        class_name := pair.cls;
        instance := substr(pair.generic, length(pair.cls) + 2);
        IF pair.id_a IS NULL OR pair.id_b IS NULL THEN
            property := NULL;
            value_a := CASE WHEN pair.id_a IS NULL THEN 'absent' ELSE 'present' END;
            value_b := CASE WHEN pair.id_b IS NULL THEN 'absent' ELSE 'present' END;
            RETURN NEXT;
            CONTINUE;
        END IF;
        EXECUTE format('SELECT to_jsonb(t) FROM ONLY cim.%I t WHERE instance_id = $1', (SELECT table_name FROM cimdb.model_class WHERE class_key = lower(pair.cls)))
            INTO row_a USING pair.id_a;
        EXECUTE format('SELECT to_jsonb(t) FROM ONLY cim.%I t WHERE instance_id = $1', (SELECT table_name FROM cimdb.model_class WHERE class_key = lower(pair.cls)))
            INTO row_b USING pair.id_b;
        FOR key IN SELECT k FROM jsonb_object_keys(row_a || row_b) AS k ORDER BY k LOOP
            CONTINUE WHEN key = 'instance_id';
            CONTINUE WHEN EXISTS (SELECT 1 FROM cimdb.model_property p WHERE p.class_key = lower(pair.cls) AND p.column_name = key AND p.is_key);
            IF (row_a -> key) IS DISTINCT FROM (row_b -> key) THEN
                property := coalesce((SELECT p.name FROM cimdb.model_property p WHERE p.class_key = lower(pair.cls) AND p.column_name = key), key);
                value_a := row_a ->> key;
                value_b := row_b ->> key;
                RETURN NEXT;
            END IF;
        END LOOP;
    END LOOP;
END $$;
COMMENT ON FUNCTION report.compare_nodes(text, text) IS 'The differences between two nodes'' inventories: instances only one node has (value present/absent), and the non-key properties whose values differ, per class and instance (the instance path with the node''s system name as *).';
