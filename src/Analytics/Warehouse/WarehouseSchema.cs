namespace WorkOrders.Analytics.Warehouse;

/// <summary>
/// The DuckDB warehouse: facts of archived work orders and their status intervals, the open-work snapshot,
/// and the dimensions. Times are UTC TIMESTAMP (DuckDB's TIMESTAMPTZ arithmetic is many times slower).
/// Dimensions and the snapshot are replaced whole in each ingest transaction, so they carry no key constraints
/// (DuckDB checks a key against rows deleted earlier in the same transaction).
/// </summary>
public static class WarehouseSchema
{
    public const int Version = 5;

    public const string Create = """
        CREATE TABLE IF NOT EXISTS warehouse_info (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

        -- Business seconds from Monday 1 January 1900 00:00 up to the local time t, for working days Monday to
        -- Friday from day_start to day_end (seconds after midnight). The business time between two moments is the
        -- difference of their readings, so no interval has to be walked day by day.
        CREATE OR REPLACE MACRO business_clock(t, day_start, day_end) AS
            (date_diff('day', DATE '1900-01-01', t::DATE) // 7) * 5 * (day_end - day_start)
            + least(date_diff('day', DATE '1900-01-01', t::DATE) % 7, 5) * (day_end - day_start)
            + CASE WHEN date_diff('day', DATE '1900-01-01', t::DATE) % 7 < 5
                   THEN least(greatest(date_diff('second', t::DATE::TIMESTAMP, t) - day_start, 0), day_end - day_start)
                   ELSE 0 END;

        CREATE TABLE IF NOT EXISTS dim_department (
            department_id   BIGINT NOT NULL,
            name            VARCHAR NOT NULL
        );

        CREATE TABLE IF NOT EXISTS dim_user (
            user_id         BIGINT NOT NULL,
            user_name       VARCHAR NOT NULL,
            display_name    VARCHAR NOT NULL,
            role            VARCHAR NOT NULL,
            department_id   BIGINT,
            active          BOOLEAN NOT NULL
        );

        CREATE TABLE IF NOT EXISTS dim_asset (
            asset_id        BIGINT NOT NULL,
            code            VARCHAR NOT NULL,
            name            VARCHAR NOT NULL,
            kind            VARCHAR NOT NULL,
            parent_id       BIGINT,
            asset_type      VARCHAR,
            location        VARCHAR,
            criticality     SMALLINT NOT NULL,
            installed_on    DATE,
            lifecycle       VARCHAR NOT NULL,
            site_id         BIGINT,
            path            VARCHAR NOT NULL
        );

        CREATE TABLE IF NOT EXISTS dim_template (
            template_id     BIGINT NOT NULL,
            name            VARCHAR NOT NULL,
            work_type       VARCHAR NOT NULL,
            default_priority SMALLINT NOT NULL,
            department_id   BIGINT NOT NULL
        );

        CREATE TABLE IF NOT EXISTS dim_date (
            date            DATE NOT NULL,
            year            INTEGER NOT NULL,
            quarter         INTEGER NOT NULL,
            month           INTEGER NOT NULL,
            iso_week        INTEGER NOT NULL,
            day_of_week     INTEGER NOT NULL,
            is_weekend      BOOLEAN NOT NULL
        );

        -- One row per archived (closed or cancelled) work order.
        CREATE TABLE IF NOT EXISTS fact_work_order (
            work_order_id       BIGINT NOT NULL,
            number              VARCHAR NOT NULL,
            template_id         BIGINT NOT NULL,
            work_type           VARCHAR NOT NULL,
            title               VARCHAR NOT NULL,
            priority            SMALLINT NOT NULL,
            status              VARCHAR NOT NULL,
            requester_id        BIGINT NOT NULL,
            asset_id            BIGINT,
            department_id       BIGINT NOT NULL,
            assignee_id         BIGINT,
            source              VARCHAR NOT NULL,
            failure_code        VARCHAR,
            created_at          TIMESTAMP NOT NULL,
            acknowledged_at     TIMESTAMP,
            started_at          TIMESTAMP,
            resolved_at         TIMESTAMP,
            closed_at           TIMESTAMP,
            due_at              TIMESTAMP,
            response_due_at     TIMESTAMP,
            resolution_due_at   TIMESTAMP,
            rating              SMALLINT,
            ingest_run_id       BIGINT NOT NULL
        );

        -- Every history event of the archived work orders, as it happened.
        CREATE TABLE IF NOT EXISTS fact_event (
            event_id            BIGINT NOT NULL,
            work_order_id       BIGINT NOT NULL,
            occurred_at         TIMESTAMP NOT NULL,
            actor_id            BIGINT,
            kind                VARCHAR NOT NULL,
            from_status         VARCHAR,
            to_status           VARCHAR,
            assignee_id         BIGINT,
            ingest_run_id       BIGINT NOT NULL
        );

        -- One row per span of time a work order spent in one status (derived from fact_event at ingest).
        CREATE TABLE IF NOT EXISTS fact_status_interval (
            work_order_id       BIGINT NOT NULL,
            status              VARCHAR NOT NULL,
            started_at          TIMESTAMP NOT NULL,
            ended_at            TIMESTAMP NOT NULL,
            seconds             BIGINT NOT NULL,
            business_seconds    BIGINT NOT NULL,
            paused              BOOLEAN NOT NULL,
            assignee_id         BIGINT
        );

        -- Figures of each archived work order's history, derived once at ingest (see DeriveHistory) so that a KPI
        -- joins one row per work order instead of aggregating every event on each question.
        CREATE TABLE IF NOT EXISTS fact_work_order_history (
            work_order_id       BIGINT NOT NULL,
            rejects             INTEGER NOT NULL,
            assigns             INTEGER NOT NULL,
            paused_seconds      BIGINT NOT NULL
        );

        -- The open work at the last ingest, replaced whole each run (backlog and SLA-at-risk figures).
        CREATE TABLE IF NOT EXISTS open_work_order (
            work_order_id       BIGINT NOT NULL,
            number              VARCHAR NOT NULL,
            template_id         BIGINT NOT NULL,
            work_type           VARCHAR NOT NULL,
            title               VARCHAR NOT NULL,
            priority            SMALLINT NOT NULL,
            status              VARCHAR NOT NULL,
            asset_id            BIGINT,
            department_id       BIGINT NOT NULL,
            assignee_id         BIGINT,
            source              VARCHAR NOT NULL,
            failure_code        VARCHAR,
            created_at          TIMESTAMP NOT NULL,
            acknowledged_at     TIMESTAMP,
            due_at              TIMESTAMP,
            response_due_at     TIMESTAMP,
            resolution_due_at   TIMESTAMP,
            snapshot_at         TIMESTAMP NOT NULL
        );

        -- What the warehouse holds: every work order archived by a transaction visible in this PostgreSQL snapshot.
        CREATE TABLE IF NOT EXISTS ingest_watermark (
            id                  INTEGER PRIMARY KEY,
            snapshot            VARCHAR NOT NULL,
            updated_at          TIMESTAMP NOT NULL
        );

        CREATE TABLE IF NOT EXISTS ingest_run (
            run_id              BIGINT PRIMARY KEY,
            started_at          TIMESTAMP NOT NULL,
            finished_at         TIMESTAMP NOT NULL,
            work_orders         BIGINT NOT NULL,
            events              BIGINT NOT NULL,
            open_work_orders    BIGINT NOT NULL,
            from_snapshot       VARCHAR NOT NULL,
            to_snapshot         VARCHAR NOT NULL,
            lag_seconds         DOUBLE
        );
        """;

    /// <summary>
    /// Derives <c>fact_work_order_history</c> for the work orders of ingest run {0}, from their events and status
    /// intervals (which arrive in the same run as the work order, since a work order is archived once).
    /// </summary>
    public const string DeriveHistory = """
        INSERT INTO fact_work_order_history
        SELECT w.work_order_id, coalesce(e.rejects, 0), coalesce(e.assigns, 0), coalesce(p.seconds, 0)
        FROM fact_work_order w
        LEFT JOIN (SELECT work_order_id, count(*) FILTER (WHERE kind = 'reject') AS rejects, count(*) FILTER (WHERE kind IN ('assign', 'auto_assigned', 'claim', 'reassign')) AS assigns
                   FROM fact_event WHERE ingest_run_id = {0} GROUP BY work_order_id) e USING (work_order_id)
        LEFT JOIN (SELECT i.work_order_id, sum(i.seconds) AS seconds FROM fact_status_interval i
                   WHERE i.paused AND i.work_order_id IN (SELECT work_order_id FROM fact_work_order WHERE ingest_run_id = {0})
                   GROUP BY i.work_order_id) p USING (work_order_id)
        WHERE w.ingest_run_id = {0}
        """;
}
