-- 0006: subscriptions of external systems to inventory changes (issue: SQL front and CIM-XML
-- export). A subscriber's URL receives CIM-XML export messages (DSP0201 ExportIndication) with
-- a CIM_InstCreation, CIM_InstModification or CIM_InstDeletion per matching event, in event
-- order. Delivery state lives here: nothing is lost while a subscriber is down.
CREATE TABLE cimdb.subscription (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url text NOT NULL CHECK (url ~ '^https?://'),
    class_name text,                        -- the class and its subclasses; NULL: every class
    node text,                              -- events of this node only; NULL: every node
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Events up to this id are delivered (or did not match): the next document starts after it.
    delivered_through bigint NOT NULL,
    -- Failed attempts since the last delivery, and when the next attempt is due (backoff).
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    last_delivered_at timestamptz,
    documents_delivered bigint NOT NULL DEFAULT 0,
    events_delivered bigint NOT NULL DEFAULT 0
);
CREATE INDEX subscription_due ON cimdb.subscription (next_attempt_at);
COMMENT ON TABLE cimdb.subscription IS 'External systems subscribed to inventory changes: the URL that receives CIM-XML indications, the class and node filters, and the delivery state (delivered through which event, failed attempts, next attempt).';
