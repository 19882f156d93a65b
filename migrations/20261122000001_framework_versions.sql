-- Every criteria framework version the server has loaded, with a hash of its file. A version is
-- immutable once recorded: start-up refuses a file whose content no longer matches.
CREATE TABLE framework_version (
    framework_key text NOT NULL,
    version text NOT NULL,
    name text NOT NULL,
    content_hash text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    first_loaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (framework_key, version)
);
