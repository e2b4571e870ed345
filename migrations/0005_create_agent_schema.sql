-- 0005: agents and servers (SPEC §6 last point, §7): enrollment tokens, per-node credentials
-- (Ed25519 public keys), the nonces of signed requests (a replay is refused by every server),
-- requests refused, and what the servers hear from each node.

-- Enrollment tokens made by `cimdb node enroll NAME`: single use, expiring. Only the SHA-256
-- of a token is stored; the token itself is shown once, to the administrator.
CREATE TABLE cimdb.enrollment_token (
    token_hash text PRIMARY KEY,            -- lower-case hex SHA-256 of the token
    node cimdb.name NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
COMMENT ON TABLE cimdb.enrollment_token IS 'Enrollment tokens (cimdb node enroll): an agent exchanges one, once, before it expires, for its node credential. Only the SHA-256 of the token is kept.';

-- A node's credential: the public half of the key pair its agent generated at enrollment.
-- Every request of the agent is signed with the private half, which never leaves the node.
CREATE TABLE cimdb.node_credential (
    node cimdb.name PRIMARY KEY REFERENCES cimdb.node (name) ON DELETE CASCADE,
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    enrolled_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE cimdb.node_credential IS 'The Ed25519 public key each enrolled node signs its requests with.';

-- Nonces of accepted signed requests, kept as long as their timestamps are acceptable
-- (RequestSignature.allowedSkewMilliseconds); servers delete older ones.
CREATE TABLE cimdb.request_nonce (
    node text COLLATE "C" NOT NULL,
    nonce text COLLATE "C" NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, nonce)
);
CREATE INDEX request_nonce_seen ON cimdb.request_nonce USING brin (seen_at);
COMMENT ON TABLE cimdb.request_nonce IS 'Nonces of recently accepted agent requests: a request whose nonce is here is a replay.';

-- Requests a server refused for their credentials: unknown node, bad or missing signature,
-- stale timestamp, replayed nonce, used or expired enrollment token.
CREATE TABLE cimdb.refused_request (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time timestamptz NOT NULL DEFAULT now(),
    server text NOT NULL,
    remote text,
    node text,
    method text NOT NULL,
    path text NOT NULL,
    reason text NOT NULL
);
CREATE INDEX refused_request_time ON cimdb.refused_request USING brin (time);
COMMENT ON TABLE cimdb.refused_request IS 'Agent requests refused for their credentials (tampered, replayed, unsigned, unknown node), with the reason.';

-- What the servers hear from a node's agent.
ALTER TABLE cimdb.node
    ADD COLUMN last_seen_at timestamptz,
    ADD COLUMN last_server text,
    ADD COLUMN agent_version text,
    ADD COLUMN journaled integer;
COMMENT ON COLUMN cimdb.node.last_seen_at IS 'When a server last heard from the node''s agent (any signed request).';
COMMENT ON COLUMN cimdb.node.journaled IS 'Results waiting in the agent''s journal at its last heartbeat.';
