-- The generator's ground truth leaves the live schema: the history generator owns it in the schema "generator" and
-- creates it there on its first run. A database that got the tables from 0003 keeps them and their rows: they move
-- into that schema under the generator's names. Nothing is dropped.
DO $$
BEGIN
    IF to_regclass('public.generator_runs') IS NOT NULL THEN
        CREATE SCHEMA IF NOT EXISTS generator;
        ALTER TABLE public.generator_runs SET SCHEMA generator;
        ALTER TABLE generator.generator_runs RENAME TO runs;
        ALTER TABLE public.generator_failure_modes SET SCHEMA generator;
        ALTER TABLE generator.generator_failure_modes RENAME TO failure_modes;
        ALTER TABLE public.generator_degradations SET SCHEMA generator;
        ALTER TABLE generator.generator_degradations RENAME TO degradations;
        ALTER TABLE public.generator_failures SET SCHEMA generator;
        ALTER TABLE generator.generator_failures RENAME TO failures;
        ALTER INDEX generator.generator_failures_asset RENAME TO failures_asset;
    END IF;
END
$$;
