-- The data-protection key ring (the keys that sign and encrypt sign-in cookies, bearer and refresh tokens and
-- antiforgery tokens), shared by every app instance on this database, so a restart or a second instance keeps every
-- session valid. Rows are only added: ASP.NET Core retires a key by adding a newer one or a revocation element.
CREATE TABLE data_protection_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    friendly_name text NOT NULL UNIQUE CHECK (length(friendly_name) BETWEEN 1 AND 200),
    xml           text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
