-- 0004: the roles given read access with `cimdb db grant-reader`: the report schema is rebuilt
-- by every `cimdb migrate`, and their grants on it are given again from here.
CREATE TABLE cimdb.reader_role (
    name text PRIMARY KEY,
    granted_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE cimdb.reader_role IS 'PostgreSQL roles with read access to the model and the report views (cimdb db grant-reader).';
