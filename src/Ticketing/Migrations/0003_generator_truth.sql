-- The ground truth behind generated histories was created here until the history generator (src/Ingest/Generate)
-- took it over: the generator now creates and owns its tables in the schema "generator" (GeneratorSchema.cs), and
-- 0011 moves the tables a database got from this migration before into that schema, with their rows.
SELECT 1;
