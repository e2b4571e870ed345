-- 0008: the site key (issue "Trust and durability"): every server of a site signs what it
-- answers agents with the same Ed25519 key, and agents pin it at enrollment (the enrollment
-- token carries its fingerprint). At most one key is current and at most one is announced as
-- next (`cimdb site-key rotate`); `cimdb site-key finish` makes the next one current.
--
-- The private key is readable only by the role that owns the schema (the servers' role):
-- reader roles (cimdb db grant-reader) are given no access to this table.
CREATE TABLE cimdb.site_key (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    private_key bytea NOT NULL CHECK (length(private_key) = 32),
    public_key bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    fingerprint text NOT NULL UNIQUE,       -- hex of the first 16 bytes of SHA-256(public_key)
    state text NOT NULL CHECK (state IN ('current', 'next', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    retired_at timestamptz
);
CREATE UNIQUE INDEX site_key_one_per_state ON cimdb.site_key (state) WHERE state IN ('current', 'next');
REVOKE ALL ON cimdb.site_key FROM PUBLIC;
COMMENT ON TABLE cimdb.site_key IS 'The Ed25519 key servers sign their answers to agents with (current), the one announced for a rotation (next), and former ones (retired).';

-- Every refused request is recorded, not only those refused for their credentials: the HTTP
-- status says which (400 malformed, 401 credentials, 403 enrollment, 413 too large).
ALTER TABLE cimdb.refused_request ADD COLUMN status smallint;
COMMENT ON TABLE cimdb.refused_request IS 'Agent requests refused (malformed, too large, tampered, replayed, unsigned, unknown node), with the status answered and the reason.';
