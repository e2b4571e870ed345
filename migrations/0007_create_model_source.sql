-- 0007: the MOF source of the installed model, stored by `cimdb migrate` (the default model's
-- files, or those given with --model and the files they include), so that the model's class
-- declarations — with every qualifier, which the catalog tables do not keep — can be written
-- as CIM-XML (`cimdb export --classes`).
CREATE TABLE cimdb.model_source (
    path text PRIMARY KEY,                  -- as the compiler read it (relative to mof/ for the default model)
    content text NOT NULL,
    root_order integer,                     -- the files compiled, in order (NULL: only included)
    stored_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE cimdb.model_source IS 'The MOF files of the installed model (cimdb migrate): the files compiled (root_order) and those they include.';
