-- Imported history (`Ingest import`) keeps the other system's ticket id in reference. One work order per external id:
-- re-running an import skips the ids already here, and two importers racing on the same file cannot both write one.
CREATE UNIQUE INDEX work_orders_import_reference ON work_orders (reference) WHERE source = 'import';
