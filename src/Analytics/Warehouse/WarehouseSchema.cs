using System.Globalization;
using static WorkOrders.Analytics.Warehouse.ColumnType;
using static WorkOrders.Analytics.Warehouse.WarehouseColumn;

namespace WorkOrders.Analytics.Warehouse;

/// <summary>
/// The DuckDB warehouse: facts of archived work orders and their status intervals, the open-work snapshot, and the
/// dimensions, each table described once (see <see cref="WarehouseTable"/>), with the derivations the ingest runs
/// in DuckDB beside the tables they fill. Times are UTC TIMESTAMP (DuckDB's TIMESTAMPTZ arithmetic is many times
/// slower). Dimensions and the snapshot are replaced whole or by key in an ingest transaction, so they carry no key
/// constraints (DuckDB checks a key against rows deleted earlier in the same transaction).
/// </summary>
public static class WarehouseSchema
{
    /// <summary>The version of the physical schema; a file of another version is emptied and refilled (see <see cref="WarehouseFile"/>).</summary>
    public const int Version = 13;

    // Columns that archived and open work orders share, read from PostgreSQL's work_orders as w.
    private static readonly WarehouseColumn WorkOrderId = Required("work_order_id", BigInt, "w.id");
    private static readonly WarehouseColumn Number = Required("number", Varchar, "w.number");
    private static readonly WarehouseColumn TemplateId = Required("template_id", BigInt, "w.template_id");
    private static readonly WarehouseColumn WorkType = Required("work_type", Varchar, "w.work_type");
    private static readonly WarehouseColumn Title = Required("title", Varchar, "w.title");
    private static readonly WarehouseColumn Priority = Required("priority", SmallInt, "w.priority");
    private static readonly WarehouseColumn Status = Required("status", Varchar, "w.status");
    private static readonly WarehouseColumn AssetId = Optional("asset_id", BigInt, "w.asset_id");
    private static readonly WarehouseColumn DepartmentId = Required("department_id", BigInt, "w.department_id");
    private static readonly WarehouseColumn AssigneeId = Optional("assignee_id", BigInt, "w.assignee_id");
    private static readonly WarehouseColumn Source = Required("source", Varchar, "w.source");

    // The failure code is the corrective templates' custom field "fault_code".
    private static readonly WarehouseColumn FailureCode = Optional("failure_code", Varchar, "CASE WHEN w.work_type = 'corrective' THEN w.custom_fields->>'fault_code' END");

    // The category the KPIs filter and group by: the fault code of any work type (corrective work records the mode that
    // failed; preventive, alarm and inspection work the mode it addressed or found), and every custom field as JSON text.
    private static readonly WarehouseColumn Category = Optional("category", Varchar, "nullif(w.custom_fields->>'fault_code', '')");
    private static readonly WarehouseColumn CustomFields = Optional("custom_fields", Varchar, "nullif(w.custom_fields, '{}'::jsonb)::text");
    private static readonly WarehouseColumn CreatedAt = Required("created_at", Timestamp, "w.created_at");
    private static readonly WarehouseColumn AcknowledgedAt = Optional("acknowledged_at", Timestamp, "w.acknowledged_at");
    private static readonly WarehouseColumn DueAt = Optional("due_at", Timestamp, "w.due_at");
    private static readonly WarehouseColumn ResponseDueAt = Optional("response_due_at", Timestamp, "w.response_due_at");
    private static readonly WarehouseColumn ResolutionDueAt = Optional("resolution_due_at", Timestamp, "w.resolution_due_at");
    private static readonly WarehouseColumn IngestRunId = Required("ingest_run_id", BigInt, "{run}");

    public static readonly WarehouseTable Info = new(
        "warehouse_info", "What the file is: its schema version.",
        [Required("key", Varchar), Required("value", Varchar)],
        key: "key");

    public static readonly WarehouseTable Departments = new(
        "dim_department", "Departments, replaced whole by a run that finds its sources written.",
        [Required("department_id", BigInt, "id"), Required("name", Varchar, "name")],
        "SELECT {columns} FROM departments");

    // Users are copied by key, those written since the last run: tens of thousands at ten million work orders, of which
    // a run finds a few new or changed.
    public static readonly WarehouseTable Users = new(
        "dim_user", "Users, replaced by key when written, whole when what was written is not known.",
        [
            Required("user_id", BigInt, "u.id"), Required("user_name", Varchar, "u.user_name"), Required("display_name", Varchar, "u.display_name"),
            Required("role", Varchar, "u.role"), Optional("department_id", BigInt, "u.department_id"), Required("active", ColumnType.Boolean, "u.active"),
        ],
        "SELECT {columns} FROM users u WHERE {written:u}");

    // Assets are copied by key, those written since the last run (a plant joining brings a few thousand of the
    // hundreds of thousands); the site and path of each, which hang on its ancestors, are derived in DuckDB after.
    public static readonly WarehouseTable Assets = new(
        "dim_asset",
        "Assets with the site at the root of their tree and their path of codes from it (see DeriveAssetTree); replaced by key when written, whole when what was written is not known.",
        [
            Required("asset_id", BigInt, "a.id"), Required("code", Varchar, "a.code"), Required("name", Varchar, "a.name"), Required("kind", Varchar, "a.kind"),
            Optional("parent_id", BigInt, "a.parent_id"), Optional("asset_type", Varchar, "a.asset_type"), Optional("location", Varchar, "a.location"),
            Required("criticality", SmallInt, "a.criticality"), Optional("installed_on", Date, "a.installed_on"), Required("lifecycle", Varchar, "a.lifecycle"),
            Optional("site_id", BigInt, "NULL::bigint"), Required("path", Varchar, "a.code"),
        ],
        "SELECT {columns} FROM assets a WHERE {written:a}");

    /// <summary>
    /// Sets the site (the root of its tree) and the path of codes from it of the assets just copied and of everything
    /// under them: after assets were copied. A copied row has no site yet; the tree is walked down from each copied asset
    /// whose parent was not copied, starting from that parent's site and path, so a run that copied a few thousand of
    /// the hundreds of thousands walks only their subtrees. A copied asset under another copied one is reached from
    /// both; the walk from the higher one, the longer, is the one that starts from a parent whose path is current. The
    /// walk lands in a table first: joined to the update straight from the recursive query, whose size DuckDB cannot
    /// estimate, the update hashed all the assets with their paths instead of the walked ones (350 ms against 35 ms for
    /// 1,500 of 770,000).
    /// </summary>
    public const string DeriveAssetTree = """
        CREATE OR REPLACE TEMP TABLE walked_asset AS
        WITH RECURSIVE tree (asset_id, site_id, path, depth) AS (
            SELECT a.asset_id, coalesce(p.site_id, a.asset_id), CASE WHEN a.parent_id IS NULL THEN a.code ELSE p.path || ' > ' || a.code END, 0
            FROM dim_asset a LEFT JOIN dim_asset p ON p.asset_id = a.parent_id
            WHERE a.site_id IS NULL AND (a.parent_id IS NULL OR p.site_id IS NOT NULL)
            UNION ALL
            SELECT a.asset_id, t.site_id, t.path || ' > ' || a.code, t.depth + 1 FROM dim_asset a JOIN tree t ON a.parent_id = t.asset_id)
        SELECT asset_id, arg_max(site_id, depth) AS site_id, arg_max(path, depth) AS path FROM tree GROUP BY asset_id;
        UPDATE dim_asset SET site_id = t.site_id, path = t.path FROM walked_asset t
        WHERE dim_asset.asset_id = t.asset_id AND (dim_asset.site_id IS DISTINCT FROM t.site_id OR dim_asset.path <> t.path);
        DROP TABLE walked_asset;
        """;

    public static readonly WarehouseTable Templates = new(
        "dim_template", "Templates, replaced whole by a run that finds its sources written.",
        [
            Required("template_id", BigInt, "id"), Required("name", Varchar, "name"), Required("work_type", Varchar, "work_type"),
            Required("default_priority", SmallInt, "default_priority"), Required("department_id", BigInt, "department_id"),
        ],
        "SELECT {columns} FROM templates");

    public static readonly WarehouseTable TemplateFields = new(
        "dim_template_field",
        "The custom fields of each template, with the neutral label and the labels per culture as JSON text ({\"zh-TW\": \"...\"}), replaced whole by a run that finds its sources written.",
        [
            Required("template_id", BigInt, "t.id"), Required("key", Varchar, "f->>'key'"), Required("label", Varchar, "coalesce(f->>'label', f->>'key')"),
            Optional("labels", Varchar, "(f->'labels')::text"), Required("kind", Varchar, "coalesce(f->>'kind', 'text')"),
        ],
        "SELECT {columns} FROM templates t CROSS JOIN LATERAL jsonb_array_elements(t.fields) f WHERE f->>'key' IS NOT NULL");

    public static readonly WarehouseTable Dates = new(
        "dim_date", "Every day from the first work order to 400 days ahead (see FillDates).",
        [
            Required("date", Date), Required("year", Integer), Required("quarter", Integer), Required("month", Integer),
            Required("iso_week", Integer), Required("day_of_week", Integer), Required("is_weekend", ColumnType.Boolean),
        ]);

    public static readonly WarehouseTable WorkOrders = new(
        "fact_work_order", "One row per archived (closed or cancelled) work order.",
        [
            WorkOrderId, Number, TemplateId, WorkType, Title, Priority, Status, Required("requester_id", BigInt, "w.requester_id"), AssetId, DepartmentId,
            AssigneeId, Source, FailureCode, Category, CustomFields, CreatedAt, AcknowledgedAt, Optional("started_at", Timestamp, "w.started_at"),
            Optional("resolved_at", Timestamp, "w.resolved_at"), Optional("closed_at", Timestamp, "w.closed_at"), DueAt, ResponseDueAt, ResolutionDueAt,
            Optional("rating", SmallInt, "w.rating"), IngestRunId,
        ],
        "SELECT {columns} FROM work_orders w WHERE {archived}");

    public static readonly WarehouseTable Events = new(
        "fact_event", "Every history event of the archived work orders, as it happened.",
        [
            Required("event_id", BigInt, "e.id"), Required("work_order_id", BigInt, "e.work_order_id"), Required("occurred_at", Timestamp, "e.occurred_at"),
            Optional("actor_id", BigInt, "e.actor_id"), Required("kind", Varchar, "e.kind"), Optional("from_status", Varchar, "e.from_status"),
            Optional("to_status", Varchar, "e.to_status"), Optional("assignee_id", BigInt, "(e.payload->>'assigneeId')::bigint"), IngestRunId,
        ],
        "SELECT {columns} FROM work_order_events e JOIN work_orders w ON w.id = e.work_order_id WHERE {archived}");

    public static readonly WarehouseTable StatusIntervals = new(
        "fact_status_interval", "One row per span of time a work order spent in one status (see DeriveIntervals).",
        [
            Required("work_order_id", BigInt), Required("status", Varchar), Required("started_at", Timestamp), Required("ended_at", Timestamp),
            Required("seconds", BigInt), Required("business_seconds", BigInt), Required("paused", ColumnType.Boolean), Optional("assignee_id", BigInt),
        ]);

    public static readonly WarehouseTable History = new(
        "fact_work_order_history",
        "Figures of each archived work order's history (see DeriveHistory), so that a KPI joins one row per work order instead of aggregating every event on each question.",
        [Required("work_order_id", BigInt), Required("rejects", Integer), Required("assigns", Integer), Required("paused_seconds", BigInt)]);

    // The open work is tens of thousands of rows, of which a run finds a few written: it copies those (read by the
    // partial index on open work, kept when their writing transaction is new) and merges them (see MergeOpenWork).
    public static readonly WarehouseTable OpenWorkOrders = new(
        "open_work_order",
        "The open work at the last ingest (backlog and SLA-at-risk figures), as of snapshot_at; replaced by key when written, whole when what was written is not known.",
        [
            WorkOrderId, Number, TemplateId, WorkType, Title, Priority, Status, AssetId, DepartmentId, AssigneeId, Source, FailureCode, Category, CustomFields, CreatedAt,
            AcknowledgedAt, DueAt, ResponseDueAt, ResolutionDueAt, Required("snapshot_at", Timestamp, "{snapshot_at}"),
        ],
        "SELECT {columns} FROM work_orders w WHERE w.status NOT IN ('closed', 'cancelled') AND {written:w}");

    public static readonly WarehouseTable Watermark = new(
        "ingest_watermark", "What the warehouse holds: every work order archived by a transaction visible in this PostgreSQL snapshot.",
        [Required("id", Integer), Required("snapshot", Varchar), Required("updated_at", Timestamp)],
        key: "id");

    public static readonly WarehouseTable Runs = new(
        "ingest_run", "One row per ingest run that committed.",
        [
            Required("run_id", BigInt), Required("started_at", Timestamp), Required("finished_at", Timestamp), Required("work_orders", BigInt),
            Required("events", BigInt), Required("open_work_orders", BigInt), Required("from_snapshot", Varchar), Required("to_snapshot", Varchar),
            Optional("lag_seconds", ColumnType.Double),
        ],
        key: "run_id");

    // The meter readings are copied whole when a table they read was written: the readings of a year of a plant are a
    // few hundred thousand rows. The plans (hundreds of thousands at ten million work orders) are copied by key, those
    // written since the last run or whose triggers were: a plant joining adds plans and changes none. The occurrences
    // change after they are made (a work order progresses, a planner moves one) and number millions at ten million
    // work orders, so a run copies those it may have changed.
    // Numeric columns of PostgreSQL arrive as DOUBLE; estimated hours and meter values need no exact decimals here.
    public static readonly WarehouseTable PmPlans = new(
        "dim_pm_plan",
        "Preventive maintenance plans with the department of their template and a description of their triggers; replaced by key when it or one of its triggers is written, whole when a trigger is deleted, a template changes or what was written is not known.",
        [
            Required("plan_id", BigInt, "p.id"), Required("name", Varchar, "p.name"), Required("template_id", BigInt, "p.template_id"),
            Required("department_id", BigInt, "t.department_id"), Optional("asset_id", BigInt, "p.asset_id"), Optional("asset_type", Varchar, "p.asset_type"),
            Optional("location_asset_id", BigInt, "p.location_asset_id"), Required("estimated_hours", ColumnType.Double, "p.estimated_hours::float8"),
            Required("lead_days", SmallInt, "p.lead_days"), Required("overlap_policy", Varchar, "p.overlap_policy"),
            Required("catch_up_policy", Varchar, "p.catch_up_policy"), Required("active", ColumnType.Boolean, "p.active"),
            Optional("proposal_id", BigInt, "p.proposal_id"), Required("created_at", Timestamp, "p.created_at"),
            Required("triggers", Varchar, "coalesce(g.triggers, '')"), Optional("interval_days", ColumnType.Double, "g.interval_days"),
        ],
        """
        SELECT {columns} FROM pm_plans p JOIN templates t ON t.id = p.template_id
        LEFT JOIN LATERAL (
            SELECT string_agg(CASE WHEN r.kind = 'calendar' THEN 'every ' || r.every_n || ' ' || r.unit || ' ' || r.schedule
                                   WHEN r.every_units IS NOT NULL THEN r.meter_name || ' every ' || r.every_units
                                   ELSE r.meter_name || ' at ' || r.threshold END, '; ' ORDER BY r.id) AS triggers,
                   min(r.every_n * CASE r.unit WHEN 'day' THEN 1 WHEN 'week' THEN 7 WHEN 'month' THEN 30.4375 WHEN 'year' THEN 365.25 END)::float8 AS interval_days
            FROM pm_triggers r WHERE r.plan_id = p.id) g ON true
        WHERE {written:p} OR p.id IN (SELECT r.plan_id FROM pm_triggers r WHERE {written:r})
        """);

    // The occurrences a run may have changed are those written since (by the index on the writing transaction) and the
    // others of work written since, open or archived (by the index on the work order; a copy of all of them plans that
    // half away, as the condition of the second is then false): the open work is read by its partial index and kept
    // when its writing transaction is new, a few of tens of thousands. The work order is looked up per occurrence
    // (OFFSET 0 keeps the subquery from being flattened into a join): the planner cannot tell how few occurrences the
    // condition leaves and would otherwise hash every work order.
    public static readonly WarehouseTable PmOccurrences = new(
        "fact_pm_occurrence",
        "One row per occurrence of a plan on an asset (planned, generated, skipped, missed; moved when a planner moved it), with its work order's progress; "
        + "replaced by key when it or its work order changes, and whole when a plan, template or trigger was written.",
        [
            Required("occurrence_id", BigInt, "o.id"), Required("plan_id", BigInt, "o.plan_id"), Required("asset_id", BigInt, "o.asset_id"),
            Required("department_id", BigInt, "coalesce(w.department_id, t.department_id)"), Optional("trigger_kind", Varchar, "r.kind"),
            Required("due_key", Varchar, "o.due_key"), Required("due_at", Timestamp, "o.due_at"), Optional("moved_to", Timestamp, "o.moved_to"),
            Optional("move_reason", Varchar, "o.move_reason"), Required("status", Varchar, "o.status"), Optional("work_order_id", BigInt, "o.work_order_id"),
            Optional("work_order_status", Varchar, "w.status"), Optional("priority", SmallInt, "w.priority"),
            Optional("created_at", Timestamp, "w.created_at"), Optional("resolved_at", Timestamp, "w.resolved_at"),
            Required("estimated_hours", ColumnType.Double, "p.estimated_hours::float8"), Required("recorded_at", Timestamp, "o.recorded_at"),
        ],
        $$"""
        SELECT {columns} {{OccurrencesFrom}} WHERE {written:o}
        UNION ALL
        SELECT {columns} {{OccurrencesFrom}} WHERE NOT coalesce({written:o}, false) AND o.work_order_id IN (
            SELECT w.id FROM work_orders w WHERE w.status NOT IN ('closed', 'cancelled') AND {written:w}
            UNION ALL SELECT w.id FROM work_orders w WHERE {archived})
        """);

    private const string OccurrencesFrom = """
        FROM pm_occurrences o JOIN pm_plans p ON p.id = o.plan_id JOIN templates t ON t.id = p.template_id
        LEFT JOIN pm_triggers r ON r.id = o.trigger_id
        LEFT JOIN LATERAL (
            SELECT w.department_id, w.status, w.priority, w.created_at, w.resolved_at FROM work_orders w WHERE w.id = o.work_order_id
            OFFSET 0) w ON true
        """;

    /// <summary>
    /// The sources of <see cref="PmOccurrences"/> whose writes its incremental copy picks up: an occurrence written since
    /// the last run, or whose work order was written since, open or archived (a work order changes only while open). An
    /// update or delete in any other of its sources (a plan, template or trigger) copies it whole; occurrences are
    /// deleted only with their plan.
    /// </summary>
    public static IReadOnlyList<string> PmOccurrencesFollow { get; } = ["pm_occurrences", "work_orders"];

    public static readonly WarehouseTable MeterReadings = new(
        "fact_meter_reading", "Every meter reading with its meter and asset, replaced whole by a run that finds its sources written.",
        [
            Required("reading_id", BigInt, "r.id"), Required("meter_id", BigInt, "r.meter_id"), Required("asset_id", BigInt, "m.asset_id"),
            Required("meter_name", Varchar, "m.name"), Required("unit", Varchar, "m.unit"), Required("read_at", Timestamp, "r.read_at"),
            Required("value", ColumnType.Double, "r.value::float8"), Required("lifetime", ColumnType.Double, "r.lifetime::float8"),
            Required("is_reset", ColumnType.Boolean, "r.is_reset"), Required("source", Varchar, "r.source"),
        ],
        "SELECT {columns} FROM meter_readings r JOIN meters m ON m.id = r.meter_id");

    public static readonly WarehouseTable PmModes = new(
        "fact_pm_mode",
        "One row per preventive work order, archived or open, that names the fault mode it addressed (its custom field \"fault_code\", as corrective work records the mode that failed); derived from the work orders (see DeriveModes).",
        [Required("work_order_id", BigInt), Required("asset_id", BigInt), Required("fault_code", Varchar), Required("created_at", Timestamp)]);

    // Inspection rounds and their findings are copied whole, as the PM occurrences are: a round changes
    // after it is made (started, completed, missed), and a plant's rounds of a year are some thousands of rows.
    public static readonly WarehouseTable InspectionRounds = new(
        "fact_inspection_round",
        "One row per inspection round (one per route and slot) with its timeliness: on_time (completed by the end of its window), late (completed after it), missed, or null while open; replaced whole by a run that finds its sources written.",
        [
            Required("round_id", BigInt, "r.id"), Required("route_id", BigInt, "r.route_id"), Required("route_name", Varchar, "ro.name"),
            Required("route_version", Integer, "r.route_version"), Required("slot_key", Varchar, "r.slot_key"), Required("slot_at", Timestamp, "r.slot_at"),
            Required("window_ends_at", Timestamp, "r.window_ends_at"), Required("grace_ends_at", Timestamp, "r.grace_ends_at"),
            Required("status", Varchar, "r.status"),
            Optional("timeliness", Varchar, "CASE WHEN r.status = 'missed' THEN 'missed' WHEN r.completed_at IS NULL THEN NULL WHEN r.completed_at <= r.window_ends_at THEN 'on_time' ELSE 'late' END"),
            Required("department_id", BigInt, "r.department_id"), Optional("assignee_id", BigInt, "r.assignee_id"),
            Required("created_at", Timestamp, "r.created_at"), Optional("completed_at", Timestamp, "r.completed_at"), Optional("missed_at", Timestamp, "r.missed_at"),
        ],
        "SELECT {columns} FROM inspection_rounds r JOIN inspection_routes ro ON ro.id = r.route_id");

    public static readonly WarehouseTable InspectionFindings = new(
        "fact_inspection_finding",
        "One row per finding of a round: the failed result's asset, check (its label and fault code as the round's route version states them), verdict, and the work order it raised or joined; replaced whole by a run that finds its sources written.",
        [
            Required("finding_id", BigInt, "f.id"), Required("round_id", BigInt, "f.round_id"), Required("route_id", BigInt, "r.route_id"),
            Required("asset_id", BigInt, "f.asset_id"), Required("check_id", BigInt, "f.check_id"), Required("check_label", Varchar, "i.label"),
            Optional("fault_code", Varchar, "i.fault_code"), Required("severity", Varchar, "i.severity"), Required("verdict", Varchar, "x.verdict"),
            Optional("work_order_id", BigInt, "f.work_order_id"), Required("created_work_order", ColumnType.Boolean, "f.created_work_order"),
            Required("occurrence", Integer, "f.occurrence"), Required("raised_at", Timestamp, "f.raised_at"),
        ],
        """
        SELECT {columns} FROM inspection_findings f JOIN inspection_rounds r ON r.id = f.round_id
        JOIN inspection_results x ON x.id = f.result_id JOIN inspection_items i ON i.id = x.item_id
        """);

    // Sensor alarms are copied incrementally: an episode changes after it is raised (it clears), and the events of a
    // busy plant are millions of rows. A run takes the rows written (inserted or updated) by transactions the previous
    // run's snapshot could not see ({written:x}, by the index on the writing transaction), lands them in a staging table
    // and merges them, the episodes by key with those of the rules written since (a rule's signal, fault code and
    // severity are on its episodes; when none was, PostgreSQL reads no episode for that half), the counts of events by
    // adding them; a run that cannot know what was written since (see the change log) copies them whole.
    public static readonly WarehouseTable AlarmEpisodes = new(
        "fact_alarm_episode",
        "One row per alarm episode (one raise of a rule on an asset, until it cleared) with its rule's signal, fault code and severity, the department of the rule's template, what the raise did (outcome: work_order, attached, rejected_back, suppressed, rate_limited, refused) and the work order it raised or fed; replaced by key when it changes (clears).",
        [
            Required("episode_id", BigInt, "e.id"), Required("asset_id", BigInt, "e.asset_id"), Optional("site_id", BigInt, "e.site_id"),
            Required("rule_id", BigInt, "e.rule_id"), Required("signal", Varchar, "r.signal"), Required("fault_code", Varchar, "r.fault_code"),
            Required("severity", Varchar, "r.severity"), Required("department_id", BigInt, "t.department_id"),
            Required("raised_at", Timestamp, "e.raised_at"), Optional("cleared_at", Timestamp, "e.cleared_at"), Required("outcome", Varchar, "e.outcome"),
            Optional("work_order_id", BigInt, "e.work_order_id"), IngestRunId,
        ],
        """
        SELECT {columns} FROM alarm_episodes e JOIN alarm_rules r ON r.id = e.rule_id JOIN templates t ON t.id = r.template_id
        WHERE {written:e}
        UNION ALL
        SELECT {columns} FROM alarm_episodes e JOIN alarm_rules r ON r.id = e.rule_id JOIN templates t ON t.id = r.template_id
        WHERE NOT coalesce({written:e}, false) AND {written:r}
        """);

    public static readonly WarehouseTable AlarmEventDays = new(
        "fact_alarm_event_day",
        "Alarm events of registered assets (those naming an unknown asset stay in PostgreSQL for the administrator) per UTC day, asset, fault code (of the rule that judged the event; null when no rule did) and outcome (what the event did: raised, attached, active, cleared, suppressed, no_rule, ...); a run adds the counts of the events that arrived since the last.",
        [
            Required("day", Date, "(e.occurred_at AT TIME ZONE 'UTC')::date"), Required("asset_id", BigInt, "e.asset_id"),
            Optional("fault_code", Varchar, "r.fault_code"), Required("outcome", Varchar, "e.outcome"), Required("events", BigInt, "count(*)"),
        ],
        """
        SELECT {columns} FROM alarm_events e LEFT JOIN alarm_rules r ON r.id = e.rule_id
        WHERE {written:e} AND e.asset_id IS NOT NULL
        GROUP BY 1, 2, 3, 4
        """);

    // The rollups: what the dashboard questions count, summed at ingest time per UTC day and the dimensions the filters
    // carry, so that a question over a year reads thousands of rows instead of millions. A run adds the sums of the
    // work orders it archived (see DeriveRollups); a work order is archived once (closed and cancelled are final), so
    // adding is all there is to do. A key may hold one row per run that added to it; every question sums them.
    public static readonly WarehouseTable WorkOrderDays = new(
        "rollup_work_order_day",
        "Archived work orders summed per measure, UTC day of the moment the measure goes by, department, work type, priority, channel, category and status. "
        + "created: n; acknowledged: n, seconds from creation; response_due (not cancelled): n, met by acknowledgement; "
        + "resolution_due (closed): n, met by resolution (paused time excluded); resolved (closed): n, met = first-time fixes, seconds from creation; "
        + "rated (closed with a rating, by closing day): n, seconds = the ratings' sum; preventive_due (preventive, not cancelled, by due day): n; "
        + "in_progress (the spans corrective and preventive work spent in progress, by the day each started): n spans, seconds.",
        [
            Required("measure", Varchar), Required("day", Date), Required("department_id", BigInt), Required("work_type", Varchar), Required("priority", SmallInt),
            Required("source", Varchar), Optional("category", Varchar), Required("status", Varchar), Required("n", BigInt), Required("met", BigInt),
            Required("seconds", BigInt),
        ]);

    public static readonly WarehouseTable FailureDays = new(
        "rollup_failure_day",
        "Archived corrective work orders with a failure code per UTC day of creation, asset, failure code, department, priority, channel, category and status: n, and downtime_seconds (creation to resolution of the closed ones).",
        [
            Required("day", Date), Optional("asset_id", BigInt), Required("failure_code", Varchar), Required("department_id", BigInt), Required("work_type", Varchar),
            Required("priority", SmallInt), Required("source", Varchar), Optional("category", Varchar), Required("status", Varchar), Required("n", BigInt),
            Required("downtime_seconds", BigInt),
        ]);

    /// <summary>The longest look-back the repeat rollup answers (the API takes 1 to 365 days); a longer gap is kept as none.</summary>
    public const int RepeatDaysKept = 366;

    public static readonly WarehouseTable RepeatDays = new(
        "rollup_repeat_day",
        "Archived corrective work orders with a failure code and an asset per UTC day of creation, asset, failure code, department, work type, priority, channel, "
        + "category and gap_days: the whole days, rounded up, since the previous archived one of the same asset and failure code (by creation, then id; null: none "
        + $"within {RepeatDaysKept} days). n may be negative: a work order archived after a later one moves the later one to a shorter gap.",
        [
            Required("day", Date), Required("asset_id", BigInt), Required("failure_code", Varchar), Required("department_id", BigInt), Required("work_type", Varchar),
            Required("priority", SmallInt), Required("source", Varchar), Optional("category", Varchar), Optional("gap_days", Integer), Required("n", BigInt),
        ]);

    public static readonly WarehouseTable StaffDays = new(
        "rollup_staff_day",
        "Staff figures per measure, UTC day, person and the work order's department, work type, priority, channel and category. "
        + "done (closed work by its final assignee, by resolution day): n, seconds from creation, sla_due (with a resolution deadline), sla_met, first_time, rating_sum, rated; "
        + "assigned (assignment events to the person, by their day): n, moved (the next assignment went to someone else).",
        [
            Required("measure", Varchar), Required("day", Date), Optional("assignee_id", BigInt), Required("department_id", BigInt), Required("work_type", Varchar),
            Required("priority", SmallInt), Required("source", Varchar), Optional("category", Varchar), Required("n", BigInt), Required("seconds", BigInt),
            Required("sla_due", BigInt), Required("sla_met", BigInt), Required("first_time", BigInt), Required("rating_sum", BigInt), Required("rated", BigInt),
            Required("moved", BigInt),
        ]);

    /// <summary>Every table of the warehouse.</summary>
    public static IReadOnlyList<WarehouseTable> Tables { get; } =
        [Info, Departments, Users, Assets, Templates, TemplateFields, Dates, WorkOrders, Events, StatusIntervals, History, OpenWorkOrders, Watermark, Runs, PmPlans, PmOccurrences, MeterReadings,
        InspectionRounds, InspectionFindings, AlarmEpisodes, AlarmEventDays, PmModes, WorkOrderDays, FailureDays, StaffDays, RepeatDays];

    /// <summary>The rollups a run adds to (see <see cref="DeriveRollups"/>).</summary>
    public static IReadOnlyList<WarehouseTable> Rollups { get; } = [WorkOrderDays, FailureDays, StaffDays, RepeatDays];

    /// <summary>The dimensions copied whole from PostgreSQL by a run that finds their sources written (see WarehouseTable.SourceTables); the users and assets are <see cref="Keyed"/>.</summary>
    public static IReadOnlyList<WarehouseTable> Dimensions { get; } = [Departments, Templates, TemplateFields];

    /// <summary>
    /// The tables copied by key (see <see cref="MergeStaged"/>), each with the sources whose writes its incremental copy
    /// picks up. Each looks up one row of every other source it reads (a parent), so rows inserted there change none of
    /// its rows; an update or delete there, or a run that cannot know what was written, copies it whole.
    /// </summary>
    public static IReadOnlyList<(WarehouseTable Table, IReadOnlyList<string> Follows)> Keyed { get; } =
        [
            (Users, ["users"]), (Assets, ["assets"]), (PmPlans, ["pm_plans", "pm_triggers"]), (PmOccurrences, PmOccurrencesFollow),
            (AlarmEpisodes, ["alarm_episodes", "alarm_rules"]),
        ];

    /// <summary>The meter readings, also copied whole from PostgreSQL by a run that finds their sources written (see WarehouseTable.SourceTables).</summary>
    public static IReadOnlyList<WarehouseTable> Programme { get; } = [MeterReadings];

    /// <summary>The inspection rounds and their findings, also copied whole from PostgreSQL by a run that finds their sources written (see WarehouseTable.SourceTables).</summary>
    public static IReadOnlyList<WarehouseTable> Inspections { get; } = [InspectionRounds, InspectionFindings];

    /// <summary>The staging table a run copies the changed rows of an incremental table into.</summary>
    public static WarehouseTable Staged(WarehouseTable table) => table.Named("stage_" + table.Name);

    /// <summary>Creates the (empty) staging table of an incremental table, in the run's transaction.</summary>
    public static string CreateStaged(WarehouseTable table) => $"CREATE TABLE {Staged(table).Name} AS SELECT * FROM {table.Name} LIMIT 0";

    /// <summary>
    /// Merges the staging table of an incremental table into it and drops it: an episode, PM occurrence, plan, user or asset
    /// replaces its row by id (the first column); the event counts of a (day, asset, fault code, outcome) are added to
    /// those already there.
    /// </summary>
    public static string MergeStaged(WarehouseTable table)
    {
        var stage = Staged(table).Name;
        return table.Name switch
        {
            "fact_alarm_event_day" => $"""
                INSERT INTO {stage} SELECT f.* FROM {table.Name} f SEMI JOIN {stage} s
                    ON s.day = f.day AND s.asset_id = f.asset_id AND s.fault_code IS NOT DISTINCT FROM f.fault_code AND s.outcome = f.outcome;
                DELETE FROM {table.Name} f USING {stage} s
                    WHERE s.day = f.day AND s.asset_id = f.asset_id AND s.fault_code IS NOT DISTINCT FROM f.fault_code AND s.outcome = f.outcome;
                INSERT INTO {table.Name} SELECT day, asset_id, fault_code, outcome, sum(events)::BIGINT FROM {stage} GROUP BY ALL;
                DROP TABLE {stage};
                """,
            "fact_alarm_episode" or "fact_pm_occurrence" or "dim_user" or "dim_asset" or "dim_pm_plan" => $"""
                DELETE FROM {table.Name} WHERE {table.Columns[0].Name} IN (SELECT {table.Columns[0].Name} FROM {stage});
                INSERT INTO {table.Name} SELECT * FROM {stage};
                DROP TABLE {stage};
                """,
            _ => throw new ArgumentException($"{table.Name} is not copied incrementally.", nameof(table)),
        };
    }

    /// <summary>Creates what is missing: every table, and the business clock.</summary>
    public static string Create { get; } = string.Concat(Tables.Select(t => t.CreateSql)) + """
        -- Business seconds from Monday 1 January 1900 00:00 up to the local time t, for working days Monday to
        -- Friday from day_start to day_end (seconds after midnight). The business time between two moments is the
        -- difference of their readings, so no interval has to be walked day by day.
        CREATE OR REPLACE MACRO business_clock(t, day_start, day_end) AS
            (date_diff('day', DATE '1900-01-01', t::DATE) // 7) * 5 * (day_end - day_start)
            + least(date_diff('day', DATE '1900-01-01', t::DATE) % 7, 5) * (day_end - day_start)
            + CASE WHEN date_diff('day', DATE '1900-01-01', t::DATE) % 7 < 5
                   THEN least(greatest(date_diff('second', t::DATE::TIMESTAMP, t) - day_start, 0), day_end - day_start)
                   ELSE 0 END;
        """;

    /// <summary>
    /// Derives <c>fact_status_interval</c> for the work orders of ingest run <paramref name="run"/> from their events:
    /// the spans between status changes, in wall-clock and business seconds. On hold and awaiting feedback stop the
    /// SLA clock, so they are marked paused. With <paramref name="slice"/>, only the work orders whose ids it holds.
    /// Business time is read on the local clock of the business hours' zone. Converting each moment through the time
    /// zone was 60 % of the statement (two conversions per span, millions of spans), so the zone's offset is converted
    /// once per UTC hour the spans touch and joined; in an hour in which the offset changes (twice a year where clocks
    /// are put forward and back), each moment is converted itself.
    /// </summary>
    public static string DeriveIntervals(long run, BusinessHours hours, IdRange? slice = null)
    {
        var events = string.Create(CultureInfo.InvariantCulture, $"fact_event WHERE ingest_run_id = {run} AND to_status IS NOT NULL AND {In(slice, "work_order_id")}");
        var (start, end) = ((long)hours.Start.TotalSeconds, (long)hours.End.TotalSeconds);
        return string.Create(CultureInfo.InvariantCulture, $"""
            CREATE OR REPLACE TEMP TABLE zone_hour AS
            SELECT h AS hour_utc, {Offset(hours, "h")} AS offset_seconds, {Offset(hours, "h")} = {Offset(hours, "(h + INTERVAL 1 HOUR - INTERVAL 1 MICROSECOND)")} AS uniform
            FROM range((SELECT date_trunc('hour', min(occurred_at)) FROM {events}), (SELECT max(occurred_at) FROM {events}) + INTERVAL 1 HOUR, INTERVAL 1 HOUR) r(h);
            INSERT INTO fact_status_interval BY NAME
            SELECT i.work_order_id, i.to_status AS status, i.occurred_at AS started_at, i.ended_at, date_diff('second', i.occurred_at, i.ended_at) AS seconds,
                   business_clock({Local(hours, "i.ended_at", "e")}, {start}, {end}) - business_clock({Local(hours, "i.occurred_at", "o")}, {start}, {end}) AS business_seconds,
                   i.to_status IN ('on_hold', 'awaiting_feedback') AS paused, i.assignee AS assignee_id
            FROM (
                SELECT work_order_id, to_status, occurred_at,
                       lead(occurred_at) OVER (PARTITION BY work_order_id ORDER BY event_id) AS ended_at,
                       last_value(assignee_id IGNORE NULLS) OVER (PARTITION BY work_order_id ORDER BY event_id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS assignee
                FROM {events}) i
            JOIN zone_hour o ON o.hour_utc = date_trunc('hour', i.occurred_at)
            JOIN zone_hour e ON e.hour_utc = date_trunc('hour', i.ended_at)
            WHERE i.ended_at IS NOT NULL;
            DROP TABLE zone_hour;
            """);
    }

    // The local time of the UTC moment t in the business hours' zone, from the offset of its hour z when that holds for
    // the whole hour.
    private static string Local(BusinessHours hours, string t, string z) =>
        $"CASE WHEN {z}.uniform THEN {t} + to_seconds({z}.offset_seconds) ELSE ({t} AT TIME ZONE 'UTC') AT TIME ZONE '{Zone(hours)}' END";

    // The seconds the business hours' zone is ahead of UTC at the UTC moment t.
    private static string Offset(BusinessHours hours, string t) => $"date_diff('second', {t}, ({t} AT TIME ZONE 'UTC') AT TIME ZONE '{Zone(hours)}')";

    /// <summary>
    /// Derives <c>fact_work_order_history</c> for the work orders of ingest run <paramref name="run"/>, from their events
    /// and status intervals (which arrive in the same run as the work order, since a work order is archived once). With
    /// <paramref name="slice"/>, only the work orders whose ids it holds.
    /// </summary>
    public static string DeriveHistory(long run, IdRange? slice = null) => string.Create(CultureInfo.InvariantCulture, $"""
        INSERT INTO fact_work_order_history BY NAME
        SELECT w.work_order_id, coalesce(e.rejects, 0) AS rejects, coalesce(e.assigns, 0) AS assigns, coalesce(p.seconds, 0) AS paused_seconds
        FROM fact_work_order w
        LEFT JOIN (SELECT work_order_id, count(*) FILTER (WHERE kind = 'reject') AS rejects, count(*) FILTER (WHERE kind IN ('assign', 'auto_assigned', 'claim', 'reassign')) AS assigns
                   FROM fact_event WHERE ingest_run_id = {run} AND {In(slice, "work_order_id")} GROUP BY work_order_id) e USING (work_order_id)
        LEFT JOIN (SELECT i.work_order_id, sum(i.seconds) AS seconds FROM fact_status_interval i
                   WHERE i.paused AND {In(slice, "i.work_order_id")}
                     AND i.work_order_id IN (SELECT work_order_id FROM fact_work_order WHERE ingest_run_id = {run} AND {In(slice, "work_order_id")})
                   GROUP BY i.work_order_id) p USING (work_order_id)
        WHERE w.ingest_run_id = {run} AND {In(slice, "w.work_order_id")}
        """);

    /// <summary>The row of <c>warehouse_info</c> that says the rollups hold every archived work order (written by each ingest and by <see cref="RebuildRollups"/>).</summary>
    public const string RollupsKept = "INSERT OR REPLACE INTO warehouse_info VALUES ('rollups', 'kept');";

    /// <summary>
    /// Adds to the rollups the sums of the archived work orders of ingest run <paramref name="run"/>, from their facts,
    /// history figures and assignment events (which arrive in the same run as the work order): <see cref="DeriveSums"/>
    /// and <see cref="DeriveRepeats"/> over the whole run.
    /// </summary>
    public static string DeriveRollups(long run) => DeriveSums(run) + DeriveRepeats(run);

    /// <summary>
    /// Adds to every rollup but the repeats the sums of the archived work orders of ingest run <paramref name="run"/>
    /// (with <paramref name="slice"/>, of those whose ids it holds: each work order counts in its own rows only).
    /// </summary>
    public static string DeriveSums(long run, IdRange? slice = null) =>
        Sums(string.Create(CultureInfo.InvariantCulture, $"w.ingest_run_id = {run} AND {In(slice, "w.work_order_id")}"));

    /// <summary>
    /// Adds to <c>rollup_repeat_day</c> the gaps the archived work orders of ingest run <paramref name="run"/> make or
    /// move (with <paramref name="assets"/>, on the assets whose ids it holds: a gap is between failures of one asset).
    /// </summary>
    public static string DeriveRepeats(long run, IdRange? assets = null) =>
        Repeats(string.Create(CultureInfo.InvariantCulture, $"w.ingest_run_id = {run}"), In(assets, "w.asset_id"));

    /// <summary>Empties the rollups and sums every archived work order again, as a run would have added them; marks them kept.</summary>
    public static string RebuildRollups { get; } =
        string.Concat(Rollups.Select(t => $"DELETE FROM {t.Name};\n")) + Sums("TRUE") + Repeats("TRUE", "TRUE") + RollupsKept;

    // The condition that a column's id lies in the range; true without one.
    private static string In(IdRange? range, string column) =>
        range is { } r ? string.Create(CultureInfo.InvariantCulture, $"{column} BETWEEN {r.First} AND {r.Last}") : "TRUE";

    // The sums of the archived work orders w that meet the condition. Each work order gives one row per measure, from a
    // list unnested in place: a LATERAL union of the seven took 3.5x as long, carrying every column of the work order
    // through it. The rows of a run go in by measure and day: a question reads one measure over a period, and DuckDB
    // skips the row groups whose range of measures or days misses it (at a million work orders, the volume tile 8.0 ->
    // 3.6 ms, SLA response 17 -> 7.8 ms, where the rows of each run lay in the order of grouping).
    private static string Sums(string scope) => $$"""
        INSERT INTO rollup_work_order_day BY NAME
        SELECT m.measure, m.day, department_id, work_type, priority, source, category, status,
               count(*) AS n, count(*) FILTER (WHERE m.met) AS met, coalesce(sum(m.seconds), 0)::BIGINT AS seconds
        FROM (
            SELECT w.department_id, w.work_type, w.priority, w.source, w.category, w.status, unnest([
                {'measure': 'created', 'day': w.created_at::DATE, 'met': false, 'seconds': 0::BIGINT},
                {'measure': 'acknowledged', 'day': w.acknowledged_at::DATE, 'met': false, 'seconds': date_diff('second', w.created_at, w.acknowledged_at)},
                {'measure': 'response_due', 'day': CASE WHEN w.status <> 'cancelled' THEN w.response_due_at::DATE END,
                  'met': w.acknowledged_at IS NOT NULL AND w.acknowledged_at <= w.response_due_at, 'seconds': 0},
                {'measure': 'resolution_due', 'day': CASE WHEN w.status = 'closed' THEN w.resolution_due_at::DATE END,
                  'met': w.resolved_at <= w.resolution_due_at + to_seconds(coalesce(h.paused_seconds, 0)), 'seconds': 0},
                {'measure': 'resolved', 'day': CASE WHEN w.status = 'closed' THEN w.resolved_at::DATE END,
                  'met': coalesce(h.rejects, 0) = 0 AND coalesce(h.assigns, 0) <= 1, 'seconds': date_diff('second', w.created_at, w.resolved_at)},
                {'measure': 'rated', 'day': CASE WHEN w.status = 'closed' AND w.rating IS NOT NULL THEN w.closed_at::DATE END, 'met': false, 'seconds': w.rating},
                {'measure': 'preventive_due', 'day': CASE WHEN w.work_type = 'preventive' AND w.status <> 'cancelled' THEN w.due_at::DATE END,
                  'met': false, 'seconds': 0}]) AS m
            FROM fact_work_order w LEFT JOIN {{HistoryOf(scope)}} h USING (work_order_id) WHERE {{scope}})
        WHERE m.day IS NOT NULL
        GROUP BY ALL
        ORDER BY m.measure, m.day;

        INSERT INTO rollup_work_order_day BY NAME
        SELECT 'in_progress' AS measure, i.started_at::DATE AS day, w.department_id, w.work_type, w.priority, w.source, w.category, w.status,
               count(*) AS n, 0::BIGINT AS met, coalesce(sum(i.seconds), 0)::BIGINT AS seconds
        FROM fact_status_interval i JOIN fact_work_order w USING (work_order_id)
        WHERE i.status = 'in_progress' AND w.work_type IN ('corrective', 'preventive') AND {{scope}}
        GROUP BY ALL
        ORDER BY day;

        INSERT INTO rollup_failure_day BY NAME
        SELECT w.created_at::DATE AS day, w.asset_id, w.failure_code, w.department_id, w.work_type, w.priority, w.source, w.category, w.status, count(*) AS n,
               coalesce(sum(date_diff('second', w.created_at, w.resolved_at)) FILTER (WHERE w.status = 'closed'), 0)::BIGINT AS downtime_seconds
        FROM fact_work_order w
        WHERE w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND {{scope}}
        GROUP BY ALL;

        INSERT INTO rollup_staff_day BY NAME
        SELECT 'done' AS measure, w.resolved_at::DATE AS day, w.assignee_id, w.department_id, w.work_type, w.priority, w.source, w.category,
               count(*) AS n, coalesce(sum(date_diff('second', w.created_at, w.resolved_at)), 0)::BIGINT AS seconds,
               count(*) FILTER (WHERE w.resolution_due_at IS NOT NULL) AS sla_due,
               count(*) FILTER (WHERE w.resolved_at <= w.resolution_due_at + to_seconds(coalesce(h.paused_seconds, 0))) AS sla_met,
               count(*) FILTER (WHERE coalesce(h.rejects, 0) = 0 AND coalesce(h.assigns, 0) <= 1) AS first_time,
               coalesce(sum(w.rating), 0)::BIGINT AS rating_sum, count(w.rating) AS rated, 0::BIGINT AS moved
        FROM fact_work_order w LEFT JOIN {{HistoryOf(scope)}} h USING (work_order_id)
        WHERE w.status = 'closed' AND w.resolved_at IS NOT NULL AND {{scope}}
        GROUP BY ALL;

        INSERT INTO rollup_staff_day BY NAME
        SELECT 'assigned' AS measure, a.occurred_at::DATE AS day, a.assignee_id, w.department_id, w.work_type, w.priority, w.source, w.category,
               count(*) AS n, 0::BIGINT AS seconds, 0::BIGINT AS sla_due, 0::BIGINT AS sla_met, 0::BIGINT AS first_time, 0::BIGINT AS rating_sum,
               0::BIGINT AS rated, count(*) FILTER (WHERE a.next_assignee IS NOT NULL AND a.next_assignee <> a.assignee_id) AS moved
        FROM (SELECT e.work_order_id, e.assignee_id, e.occurred_at, lead(e.assignee_id) OVER (PARTITION BY e.work_order_id ORDER BY e.event_id) AS next_assignee
              FROM fact_event e
              WHERE e.kind IN ('assign', 'auto_assigned', 'claim', 'reassign') AND e.work_order_id IN (SELECT w.work_order_id FROM fact_work_order w WHERE {{scope}})) a
        JOIN fact_work_order w USING (work_order_id)
        GROUP BY ALL;

        """;

    // The history figures of the archived work orders w that meet the condition: a LEFT JOIN builds its table from its
    // right side, which would otherwise be the history of every work order ever archived, for the few of a run.
    private static string HistoryOf(string scope) =>
        $"(SELECT h.* FROM fact_work_order_history h WHERE h.work_order_id IN (SELECT w.work_order_id FROM fact_work_order w WHERE {scope}))";

    // The gap of each new failure (archived work order w that meets the condition) to the archived one before it, and of
    // each failure archived earlier whose previous one is new (a work order archived after a later one): it leaves its
    // old gap (-1) for the new (+1). Only the failures of assets that meet the second condition.
    private static string Repeats(string scope, string assets) => $"""
        INSERT INTO rollup_repeat_day BY NAME
        WITH keys AS (
            SELECT DISTINCT w.asset_id, w.failure_code FROM fact_work_order w
            WHERE w.failure_code IS NOT NULL AND w.asset_id IS NOT NULL AND {assets} AND {scope}),
        gaps AS (
            SELECT f.*, lag(f.created_at) OVER (PARTITION BY f.asset_id, f.failure_code ORDER BY f.created_at, f.work_order_id) AS previous_all,
                   max(CASE WHEN NOT f.new THEN f.created_at END) OVER (PARTITION BY f.asset_id, f.failure_code ORDER BY f.created_at, f.work_order_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_old
            FROM (SELECT w.work_order_id, w.asset_id, w.failure_code, w.created_at, w.department_id, w.work_type, w.priority, w.source, w.category, ({scope}) AS new
                  FROM fact_work_order w SEMI JOIN keys k USING (asset_id, failure_code)
                  WHERE w.failure_code IS NOT NULL AND w.asset_id IS NOT NULL AND {assets}) f)
        SELECT day, asset_id, failure_code, department_id, work_type, priority, source, category, gap_days, sum(n)::BIGINT AS n
        FROM (
            SELECT g.created_at::DATE AS day, g.*, {GapDays("g.previous_all")} AS gap_days, 1 AS n FROM gaps g
            WHERE g.new OR g.previous_old IS DISTINCT FROM g.previous_all
            UNION ALL
            SELECT g.created_at::DATE, g.*, {GapDays("g.previous_old")}, -1 FROM gaps g
            WHERE NOT g.new AND g.previous_old IS DISTINCT FROM g.previous_all)
        GROUP BY ALL
        HAVING sum(n) <> 0;

        """;

    // Whole days, rounded up, from the previous failure's creation to this one's, or null beyond RepeatDaysKept: a
    // failure repeats within N days (previous >= created - N days) exactly when this is at most N.
    private static string GapDays(string previous) => string.Create(CultureInfo.InvariantCulture, $"""
        CASE WHEN date_diff('microsecond', {previous}, g.created_at) <= {RepeatDaysKept}::BIGINT * 86400000000
             THEN ((date_diff('microsecond', {previous}, g.created_at) + 86399999999) // 86400000000)::INTEGER END
        """);

    /// <summary>
    /// Before a run replaces the open work: forgets the fault modes of the open work it held, which may since have
    /// changed or been archived (see <see cref="DeriveModes"/>).
    /// </summary>
    public const string ForgetOpenModes = "DELETE FROM fact_pm_mode WHERE work_order_id IN (SELECT work_order_id FROM open_work_order);";

    /// <summary>
    /// Adds to <c>fact_pm_mode</c> the preventive work that names a fault mode among the work orders ingest run
    /// <paramref name="run"/> archived and the open work it copied. An archived work order is final and arrives once.
    /// </summary>
    public static string DeriveModes(long run) => string.Create(CultureInfo.InvariantCulture, $"""
        INSERT INTO fact_pm_mode BY NAME
        SELECT work_order_id, asset_id, fault_code, created_at
        FROM (SELECT work_order_id, work_type, asset_id, json_extract_string(custom_fields, '$.fault_code') AS fault_code, created_at
              FROM fact_work_order WHERE ingest_run_id = {run}
              UNION ALL
              SELECT work_order_id, work_type, asset_id, json_extract_string(custom_fields, '$.fault_code'), created_at FROM open_work_order)
        WHERE work_type = 'preventive' AND asset_id IS NOT NULL AND fault_code IS NOT NULL
        """);

    /// <summary>
    /// Merges the open work written since the last run (its staging table, see <see cref="Staged"/>) into
    /// <c>open_work_order</c>, forgets what ingest run <paramref name="run"/> archived (a work order leaves the open work
    /// only by being archived, see migration 0002), and dates every row to this run's snapshot.
    /// </summary>
    public static string MergeOpenWork(long run, DateTime snapshotAt)
    {
        var stage = Staged(OpenWorkOrders).Name;
        return string.Create(CultureInfo.InvariantCulture, $"""
            DELETE FROM open_work_order WHERE work_order_id IN (
                SELECT work_order_id FROM {stage} UNION ALL SELECT work_order_id FROM fact_work_order WHERE ingest_run_id = {run});
            INSERT INTO open_work_order SELECT * FROM {stage};
            DROP TABLE {stage};
            UPDATE open_work_order SET snapshot_at = '{snapshotAt:yyyy-MM-dd HH:mm:ss.ffffff}' WHERE snapshot_at <> '{snapshotAt:yyyy-MM-dd HH:mm:ss.ffffff}';
            """);
    }

    /// <summary>
    /// Refills <c>dim_date</c>: every day from the first work order, archived or open, to 400 days ahead. The first day
    /// is the earliest of the days already there and the work ingest run <paramref name="run"/> archived or holds open
    /// (archived work stays, so no earlier day goes), which reads the run's work orders, not all ten million.
    /// </summary>
    public static string FillDates(long run) => string.Create(CultureInfo.InvariantCulture, $"""
        CREATE OR REPLACE TEMP TABLE first_day AS
        SELECT coalesce(least((SELECT min(date) FROM dim_date), (SELECT min(created_at) FROM fact_work_order WHERE ingest_run_id = {run})::DATE,
                              (SELECT min(created_at) FROM open_work_order)::DATE), current_date) AS day;
        DELETE FROM dim_date;
        INSERT INTO dim_date BY NAME
        SELECT d::DATE AS date, year(d) AS year, quarter(d) AS quarter, month(d) AS month, weekofyear(d) AS iso_week,
               isodow(d) AS day_of_week, isodow(d) >= 6 AS is_weekend
        FROM range((SELECT day FROM first_day)::TIMESTAMP, (current_date + INTERVAL 400 DAY)::TIMESTAMP, INTERVAL 1 DAY) r(d);
        DROP TABLE first_day;
        """);

    private static string Zone(BusinessHours hours) => hours.TimeZone.Replace("'", "''", StringComparison.Ordinal);
}
