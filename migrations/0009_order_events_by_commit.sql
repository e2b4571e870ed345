-- 0009: change events get their ids in commit order (issue "Trust and durability", finding 7).
--
-- Ids come from a sequence; with two servers ingesting, a transaction holding id 9 could
-- commit after one holding id 10, and a reader of "events after the last id I saw" (the
-- subscriptions, the change feed) would skip 9. Now every writer takes one transaction-level
-- advisory lock before it takes event ids, and holds it until it commits: the next writer
-- takes its ids only after the previous one's events are visible, so ids are visible in
-- increasing order and a reader that has seen id N will never see a smaller one appear.
--
-- The lock is taken by a statement trigger on every INSERT or COPY into cimdb.event (so no
-- writer can forget it); a writer that reserves ids before inserting (nextval, as the ingest
-- does for its COPY) calls cimdb.lock_event_order() first. Cost: writers of events from
-- different servers commit one after the other (a single server has one ingest writer).
CREATE FUNCTION cimdb.lock_event_order() RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(7163376960224458356)  -- 'cimdbevt' as a 64-bit number
$$;
COMMENT ON FUNCTION cimdb.lock_event_order() IS 'Takes the lock that orders event ids by commit; call before taking ids from cimdb.event_id_seq.';

CREATE FUNCTION cimdb.event_order_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cimdb.lock_event_order();
    RETURN NULL;
END
$$;
CREATE TRIGGER order_by_commit BEFORE INSERT ON cimdb.event FOR EACH STATEMENT EXECUTE FUNCTION cimdb.event_order_trigger();
