-- Questions administrators ask the inventory, each answered by one query over the report views
-- (schema report) and the class tables (schema cim). Run one in psql (cimdb db psql) or with
-- cimdb query "…". Node names such as node000001 stand for yours.
--
-- Each query is preceded by `-- @example NAME` and the question; the tests run every one of
-- them against a generated fleet and check the answer against the fleet itself.

-- @example small-memory-fast-network
-- Which nodes have less than 64 GiB of RAM but a 10 GbE (or faster) port?
SELECT node
FROM report.node_summary
WHERE memory_bytes < 64 * 1024::numeric ^ 3 AND fastest_nic_bps >= 10000000000
ORDER BY node;

-- @example many-cpus
-- Which nodes have at least 32 processors (logical CPUs)?
SELECT node, cpus
FROM report.node_summary
WHERE cpus >= 32
ORDER BY node;

-- @example cpus-per-model
-- How many CPUs of each model does the cluster have?
SELECT description AS model, count(*) AS cpus
FROM report.processors
GROUP BY description
ORDER BY description;

-- @example most-memory
-- Which three nodes have the most memory?
SELECT node
FROM report.node_summary
ORDER BY memory_bytes DESC, node
LIMIT 3;

-- @example slow-clocks
-- Which nodes have a CPU running below 1.5 GHz right now?
SELECT DISTINCT node
FROM report.processors
WHERE mhz < 1500
ORDER BY node;

-- @example nearly-full-file-systems
-- Which file systems have less than 10 % free space?
SELECT node, name, type
FROM report.file_systems
WHERE available_bytes < bytes / 10
ORDER BY node, name;

-- @example nfs-clients
-- Which nodes mount NFS file systems?
SELECT DISTINCT node
FROM report.file_systems
WHERE type = 'nfs4'
ORDER BY node;

-- @example storage-per-type
-- How much file-system space is there of each type, over the whole cluster?
SELECT type, count(*) AS file_systems, sum(bytes) AS bytes
FROM report.file_systems
GROUP BY type
ORDER BY type;

-- @example ports-per-type
-- How many Ethernet ports of each type (PortType by name) are there?
SELECT port_type, count(*) AS ports
FROM report.ethernet_ports
GROUP BY port_type
ORDER BY port_type;

-- @example half-duplex-ports
-- Which ports run half duplex?
SELECT node, deviceid
FROM report.ethernet_ports
WHERE NOT fullduplex
ORDER BY node, deviceid;

-- @example bonded-ports
-- Which ports report more than one MAC address (bonds)?
SELECT node, deviceid, cardinality(networkaddresses) AS macs
FROM cim.cim_ethernetport JOIN report.node_instance USING (instance_id)
WHERE cardinality(networkaddresses) > 1
ORDER BY node, deviceid;

-- @example no-ipv6
-- Which nodes have an IP endpoint without a global IPv6 address?
SELECT DISTINCT n.node
FROM cim.cim_ipprotocolendpoint e JOIN report.node_instance n USING (instance_id)
WHERE coalesce(e.ipv6address, '') = ''
ORDER BY n.node;

-- @example addresses-in-subnet
-- Which endpoints have an IPv4 address in 10.0.0.0/9?
SELECT n.node, e.name, e.ipv4address
FROM cim.cim_ipprotocolendpoint e JOIN report.node_instance n USING (instance_id)
WHERE e.ipv4address::inet << '10.0.0.0/9'::inet
ORDER BY n.node, e.name;

-- @example kernels
-- Which kernel versions run, and on how many nodes?
SELECT substring(caption FROM '[^ ]+$') AS kernel, count(*) AS nodes
FROM cim.cim_computersystem
GROUP BY 1
ORDER BY 1;

-- @example mainboard-vendors
-- Which mainboard manufacturers are in the cluster, on how many nodes?
SELECT manufacturer, count(*) AS nodes
FROM cim.cim_card
GROUP BY manufacturer
ORDER BY manufacturer;

-- @example changes-on-a-node
-- What changed on node000001 this week?
SELECT time, class, instance, property, old_value, new_value
FROM report.recent_changes
WHERE node = 'node000001' AND kind = 'changed' AND time > now() - interval '7 days'
ORDER BY class, instance, property;

-- @example devices-per-class
-- How many devices of each kind are there (polymorphic counts, subclasses included)?
SELECT class_name, instances
FROM report.instance_counts
WHERE class_name IN ('CIM_LogicalDevice', 'CIM_Processor', 'CIM_NetworkPort', 'CIM_EthernetPort')
ORDER BY class_name;

-- @example stale-nodes
-- Which nodes have not been discovered for longer than twice the discovery period?
SELECT node, last_discovery
FROM report.node_summary
WHERE stale
ORDER BY node;
