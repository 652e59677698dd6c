using System.Globalization;
using DuckDB.NET.Data;
using WorkOrders.Analytics.Warehouse;

namespace WorkOrders.Analytics.Kpis;

/// <summary>A work order behind a figure, with enough to list it and open it.</summary>
public sealed record WorkOrderRow(
    long WorkOrderId,
    string Number,
    string Title,
    string Status,
    string WorkType,
    int Priority,
    long DepartmentId,
    long? AssetId,
    string? FailureCode,
    DateTime CreatedAt,
    DateTime? ResolvedAt);

public sealed record WorkOrderRows(IReadOnlyList<WorkOrderRow> Items, long Total);

/// <summary>A work order behind a figure as an exported line: names instead of ids.</summary>
public sealed record WorkOrderLine(
    string Number,
    string Title,
    string Status,
    string WorkType,
    int Priority,
    string Department,
    string? Asset,
    string? FailureCode,
    DateTime CreatedAt,
    DateTime? AcknowledgedAt,
    DateTime? ResolvedAt,
    double? HoursToResolve);

/// <summary>
/// The work orders behind each KPI tile: the same set the tile counts (its denominator), listed page by page.
/// Each set here mirrors the WHERE clause of its query in <see cref="KpiQueries"/>; a test holds them equal.
/// </summary>
public sealed class DrillDown(DuckDBConnection warehouse, CancellationToken cancellationToken = default)
{
    public static IReadOnlyList<string> Kpis { get; } =
        ["volume", "mtta", "mttr", "sla_response", "sla_resolution", "pm", "backlog", "ftf", "repeat", "satisfaction"];

    private const string Both = """
        (SELECT work_order_id, number, title, status, work_type, priority, department_id, asset_id, failure_code, source, category, custom_fields,
                created_at, acknowledged_at, resolved_at, closed_at, due_at, response_due_at, resolution_due_at, rating, false AS open, NULL::TIMESTAMP AS snapshot_at
         FROM fact_work_order
         UNION ALL
         SELECT work_order_id, number, title, status, work_type, priority, department_id, asset_id, failure_code, source, category, custom_fields,
                created_at, acknowledged_at, NULL, NULL, due_at, response_due_at, resolution_due_at, NULL, true, snapshot_at
         FROM open_work_order)
        """;

    private static string Set(string kpi, int repeatDays) => kpi switch
    {
        "volume" => "w.created_at >= $from AND w.created_at < $to",
        "mtta" => "w.acknowledged_at >= $from AND w.acknowledged_at < $to",
        "mttr" => "NOT w.open AND w.status = 'closed' AND w.work_type = 'corrective' AND w.resolved_at >= $from AND w.resolved_at < $to",
        "sla_response" => "w.status <> 'cancelled' AND (NOT w.open OR w.acknowledged_at IS NOT NULL OR w.response_due_at < w.snapshot_at) AND w.response_due_at >= $from AND w.response_due_at < $to",
        "sla_resolution" => "(w.status = 'closed' OR (w.open AND w.resolution_due_at < w.snapshot_at)) AND w.resolution_due_at >= $from AND w.resolution_due_at < $to",
        "pm" => "w.work_type = 'preventive' AND w.status <> 'cancelled' AND w.due_at >= $from AND w.due_at < $to",
        "backlog" => "w.open",
        "ftf" => "NOT w.open AND w.status = 'closed' AND w.resolved_at >= $from AND w.resolved_at < $to",
        "repeat" => $"""
            w.work_type = 'corrective' AND w.failure_code IS NOT NULL AND w.asset_id IS NOT NULL AND w.created_at >= $from AND w.created_at < $to
            AND EXISTS (SELECT 1 FROM {Both} p WHERE p.asset_id = w.asset_id AND p.failure_code = w.failure_code AND p.work_type = 'corrective'
                        AND (p.created_at, p.work_order_id) < (w.created_at, w.work_order_id)
                        AND p.created_at >= w.created_at - to_days({repeatDays.ToString(CultureInfo.InvariantCulture)}))
            """,
        "satisfaction" => "NOT w.open AND w.status = 'closed' AND w.rating IS NOT NULL AND w.closed_at >= $from AND w.closed_at < $to",
        _ => throw new ArgumentOutOfRangeException(nameof(kpi), kpi, $"Unknown KPI; one of {string.Join(", ", Kpis)}."),
    };

    private bool? _kept;

    /// <summary>
    /// Whether the total of a list is summed from the rollups when the filter allows (<see cref="KpiFilter.CarriedByRollups"/>)
    /// and the set is one a rollup counts; null, the default: when the file's rollups are kept. False counts the facts,
    /// as a test does to compare both answers. The rows of a page always come from the facts.
    /// </summary>
    public bool? Rollups { get; init; }

    // The set of a KPI as the measure of rollup_work_order_day that counts its archived part (null: none does; the set
    // is then counted from the facts), beside the condition its open part meets in open_work_order w. Each mirrors
    // the archived and open halves of Set.
    private static (string? Measure, string? Extra, string? Open) RolledSet(string kpi) => kpi switch
    {
        "volume" => ("created", null, "w.created_at >= $from AND w.created_at < $to"),
        "mtta" => ("acknowledged", null, "w.acknowledged_at >= $from AND w.acknowledged_at < $to"),
        "mttr" => ("resolved", "w.work_type = 'corrective'", null),
        "sla_response" => ("response_due", null,
            "(w.acknowledged_at IS NOT NULL OR w.response_due_at < w.snapshot_at) AND w.response_due_at >= $from AND w.response_due_at < $to"),
        "sla_resolution" => ("resolution_due", null, "w.resolution_due_at < w.snapshot_at AND w.resolution_due_at >= $from AND w.resolution_due_at < $to"),
        "pm" => ("preventive_due", null, "w.work_type = 'preventive' AND w.due_at >= $from AND w.due_at < $to"),
        "ftf" => ("resolved", null, null),
        "satisfaction" => ("rated", null, null),
        _ => (null, null, null),
    };

    // The total of a list from the rollup and the open work, or null when the filter or the set asks the facts.
    private string? RolledCount(KpiFilter filter, string kpi)
    {
        var (measure, extra, open) = RolledSet(kpi);
        if (measure is null || !filter.CarriedByRollups(byAsset: false) || !(Rollups ?? (_kept ??= WarehouseRollups.Kept(warehouse, cancellationToken))))
        {
            return null;
        }

        var archived = $"""
            SELECT coalesce(sum(w.n), 0)::BIGINT AS n FROM rollup_work_order_day w
            WHERE w.measure = '{measure}' AND w.day >= $from AND w.day < $to AND {extra ?? "TRUE"} AND {filter.Where("w")}
            """;
        return open is null
            ? $"SELECT n FROM ({archived})"
            : $"SELECT (({archived}) + (SELECT count(*) FROM open_work_order w WHERE {open} AND {filter.Where("w")}))::BIGINT";
    }

    public WorkOrderRows Page(KpiFilter filter, string kpi, int skip, int take, int repeatDays = KpiQueries.DefaultRepeatDays)
    {
        DuckDBCommand Command(string sql)
        {
            var command = warehouse.Command(sql, cancellationToken);
            filter.Bind(command);
            return command;
        }

        return ReadPage(Command, $"{Both} w", $"{Set(kpi, repeatDays)} AND {filter.Where("w")}", "w", skip, take, RolledCount(filter, kpi));
    }

    /// <summary>
    /// Rows per slice of a long list (<see cref="Lines(KpiFilter, string, int, int)"/>, <see cref="CopyLinesToParquet(KpiFilter, string, int, IReadOnlyList{string}, string, int, Action{long})"/>):
    /// about what DuckDB sorts at once while a file is written.
    /// </summary>
    internal const int SliceRows = 50_000;

    /// <summary>
    /// Every work order behind the figure, newest first, at most <paramref name="limit"/>, read as the caller
    /// enumerates (the whole set never sits in memory here, nor in DuckDB: see <see cref="Slices"/>).
    /// </summary>
    public IEnumerable<WorkOrderLine> Lines(KpiFilter filter, string kpi, int limit, int repeatDays = KpiQueries.DefaultRepeatDays) =>
        Lines(filter, kpi, limit, repeatDays, SliceRows);

    internal IEnumerable<WorkOrderLine> Lines(KpiFilter filter, string kpi, int limit, int repeatDays, int sliceRows)
    {
        var remaining = Math.Max(limit, 0);
        foreach (var slice in Slices(filter, kpi, repeatDays, sliceRows))
        {
            if (remaining == 0)
            {
                yield break;
            }

            using var command = warehouse.Command(LinesQuery(filter, kpi, remaining, repeatDays, null, slice), cancellationToken);
            filter.Bind(command);
            slice.Bind(command);

            // Streamed, so that the rows are read as the file is written rather than held whole by DuckDB first.
            command.UseStreamingMode = true;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                remaining--;
                yield return new WorkOrderLine(
                    reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt16(4), reader.GetString(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7), reader.GetDateTime(8),
                    reader.IsDBNull(9) ? null : reader.GetDateTime(9), reader.IsDBNull(10) ? null : reader.GetDateTime(10),
                    reader.IsDBNull(11) ? null : reader.GetDouble(11));
            }
        }
    }

    /// <summary>How many lines <see cref="Lines(KpiFilter, string, int, int)"/> would give: the work orders behind the figure, at most <paramref name="limit"/>.</summary>
    public long CountLines(KpiFilter filter, string kpi, int limit, int repeatDays = KpiQueries.DefaultRepeatDays) =>
        Math.Min(Count(filter, kpi, repeatDays), Math.Max(limit, 0));

    /// <summary>
    /// Writes the lines of <see cref="Lines(KpiFilter, string, int, int)"/> to a Parquet file at <paramref name="path"/>, the columns named as the
    /// headers of the other formats, by DuckDB itself (nothing passes through .NET): each slice into a file of its own,
    /// then the slices in order into one file by a DuckDB of its own (in memory, one thread), so neither holds the whole
    /// list. <paramref name="progress"/> hears the rows written after each slice. Returns the rows written.
    /// </summary>
    public long CopyLinesToParquet(
        KpiFilter filter, string kpi, int limit, IReadOnlyList<string> headers, string path, int repeatDays = KpiQueries.DefaultRepeatDays, Action<long>? progress = null) =>
        CopyLinesToParquet(filter, kpi, limit, headers, path, repeatDays, progress, SliceRows);

    internal long CopyLinesToParquet(
        KpiFilter filter, string kpi, int limit, IReadOnlyList<string> headers, string path, int repeatDays, Action<long>? progress, int sliceRows)
    {
        limit = Math.Max(limit, 0);
        var slices = Slices(filter, kpi, repeatDays, sliceRows);
        if (slices.Count == 1)
        {
            var rows = CopySlice(filter, kpi, limit, headers, path, repeatDays, slices[0]);
            progress?.Invoke(rows);
            return rows;
        }

        var folder = Directory.CreateDirectory(path + ".slices").FullName;
        try
        {
            var files = new List<string>();
            var written = 0L;
            foreach (var slice in slices)
            {
                if (written == limit)
                {
                    break;
                }

                var file = Path.Combine(folder, $"{files.Count:D5}.parquet");
                written += CopySlice(filter, kpi, (int)(limit - written), headers, file, repeatDays, slice);
                files.Add(file);
                progress?.Invoke(written);
            }

            using var merger = new DuckDBConnection("Data Source=:memory:");
            merger.Open();
            using var interrupt = merger.InterruptOn(cancellationToken);
            using (var settings = merger.Command("SET threads = 1", cancellationToken))
            {
                settings.ExecuteNonQuery();
            }

            using var merge = merger.Command(
                $"""
                COPY (SELECT * FROM read_parquet([{string.Join(", ", files.Select(Quoted))}]))
                TO {Quoted(path)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {sliceRows.ToString(CultureInfo.InvariantCulture)})
                """,
                cancellationToken);
            return merge.ExecuteNonQuery();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private long CopySlice(KpiFilter filter, string kpi, int limit, IReadOnlyList<string> headers, string path, int repeatDays, Slice slice)
    {
        // COPY takes no prepared parameters, so the period and the slice are written in: dates only, no text from outside.
        var sql = LinesQuery(filter, kpi, limit, repeatDays, headers, slice)
            .Replace("$from", Timestamp(filter.Start), StringComparison.Ordinal)
            .Replace("$to", Timestamp(filter.End), StringComparison.Ordinal)
            .Replace("$sliceAfter", slice.After is { } after ? Timestamp(after) : "NULL", StringComparison.Ordinal)
            .Replace("$sliceUpTo", slice.UpTo is { } upTo ? Timestamp(upTo) : "NULL", StringComparison.Ordinal);
        using var command = warehouse.Command($"COPY ({sql}) TO {Quoted(path)} (FORMAT parquet, COMPRESSION zstd)", cancellationToken);
        return command.ExecuteNonQuery();
    }

    private static string Quoted(string path) => $"'{path.Replace("'", "''", StringComparison.Ordinal)}'";

    private static string Timestamp(DateTime time) => $"TIMESTAMP '{time.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}'";

    private long Count(KpiFilter filter, string kpi, int repeatDays)
    {
        using var command = warehouse.Command(
            RolledCount(filter, kpi) ?? $"SELECT count(*) FROM {Both} w WHERE {Set(kpi, repeatDays)} AND {filter.Where("w")}", cancellationToken);
        filter.Bind(command);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The list cut into ranges of creation time, newest first, of about <paramref name="sliceRows"/> rows each, so that
    /// DuckDB sorts one range at a time instead of the whole list (a top-N over a million rows with every column held
    /// hundreds of megabytes). The cuts are approximate quantiles of the creation times, found from that one column; a
    /// range holds every row whose time falls in it, so rows of the same instant are never split between two ranges and
    /// each range read in (created_at, id) order gives the list in exactly the order of one sorted read.
    /// </summary>
    internal IReadOnlyList<Slice> Slices(KpiFilter filter, string kpi, int repeatDays, int sliceRows)
    {
        var count = Count(filter, kpi, repeatDays);
        var parts = (int)Math.Min(Math.Ceiling(count / (double)Math.Max(sliceRows, 1)), MaxSlices);
        if (parts <= 1)
        {
            return [new Slice(null, null)];
        }

        var fractions = string.Join(", ", Enumerable.Range(1, parts - 1).Select(k => (k / (double)parts).ToString("R", CultureInfo.InvariantCulture)));
        using var command = warehouse.Command(
            $"SELECT DISTINCT unnest(approx_quantile(w.created_at, [{fractions}])) AS cut FROM {Both} w WHERE {Set(kpi, repeatDays)} AND {filter.Where("w")} ORDER BY cut DESC",
            cancellationToken);
        filter.Bind(command);
        var cuts = new List<DateTime>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                cuts.Add(reader.GetDateTime(0));
            }
        }

        var slices = new List<Slice>(cuts.Count + 1);
        DateTime? upTo = null;
        foreach (var cut in cuts)
        {
            slices.Add(new Slice(cut, upTo));
            upTo = cut;
        }

        slices.Add(new Slice(null, upTo));
        return slices;
    }

    /// <summary>At most this many slices, whatever the list: a ten-million-row set still reads in slices of 50,000 rows at most a tenth of its length.</summary>
    private const int MaxSlices = 1_000;

    /// <summary>Work orders created after <see cref="After"/> and up to <see cref="UpTo"/> (either open when null).</summary>
    internal readonly record struct Slice(DateTime? After, DateTime? UpTo)
    {
        public string Where => (After is null ? "" : " AND w.created_at > $sliceAfter") + (UpTo is null ? "" : " AND w.created_at <= $sliceUpTo");

        public void Bind(DuckDBCommand command)
        {
            if (After is { } after)
            {
                command.Parameters.Add(new DuckDBParameter("sliceAfter", after));
            }

            if (UpTo is { } upTo)
            {
                command.Parameters.Add(new DuckDBParameter("sliceUpTo", upTo));
            }
        }
    }

    private static string LinesQuery(KpiFilter filter, string kpi, int limit, int repeatDays, IReadOnlyList<string>? names, Slice slice)
    {
        string[] columns =
        [
            "w.number", "w.title", "w.status", "w.work_type", "w.priority", "coalesce(d.name, w.department_id::VARCHAR)", "a.code || ' ' || a.name",
            "w.failure_code", "w.created_at", "w.acknowledged_at", "w.resolved_at", "date_diff('second', w.created_at, w.resolved_at) / 3600.0",
        ];
        var select = string.Join(", ", columns.Select((c, i) => names is null ? c : $"{c} AS \"{names[i].Replace("\"", "\"\"", StringComparison.Ordinal)}\""));
        return $"""
            SELECT {select}
            FROM {Both} w
            LEFT JOIN dim_department d ON d.department_id = w.department_id
            LEFT JOIN dim_asset a ON a.asset_id = w.asset_id
            WHERE {Set(kpi, repeatDays)} AND {filter.Where("w")}{slice.Where}
            ORDER BY w.created_at DESC, w.work_order_id DESC
            LIMIT {Math.Max(limit, 0).ToString(CultureInfo.InvariantCulture)}
            """;
    }

    /// <summary>
    /// Counts the work orders of <paramref name="from"/> that meet <paramref name="where"/> (their work-order columns
    /// under <paramref name="alias"/>), or runs <paramref name="countSql"/> when given (a statement that counts the same
    /// set another way), and reads one page of them, newest first. <paramref name="command"/> makes the command of a
    /// statement with the parameters bound.
    /// </summary>
    /// <remarks>
    /// The page is read in two steps: the keys of its rows first, which reads only the columns the set and the order
    /// need, then the rows of those keys, found by the zone maps of their ids and times of creation. Sorted whole rows
    /// cost the year's drill-down at ten million work orders 219 ms, the keys 33 ms and the rows 3 ms (a work order is
    /// archived once, so an id stands for one row of the set).
    /// </remarks>
    internal static WorkOrderRows ReadPage(
        Func<string, DuckDBCommand> command, string from, string where, string alias, int skip, int take, string? countSql = null)
    {
        long total;
        using (var count = command(countSql ?? $"SELECT count(*) FROM {from} WHERE {where}"))
        {
            total = Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        var order = $"ORDER BY {alias}.created_at DESC, {alias}.work_order_id DESC";
        var ids = new List<long>();
        DateTime newest = default, oldest = default;
        using (var keys = command($"""
            SELECT {alias}.work_order_id, {alias}.created_at FROM {from} WHERE {where} {order}
            LIMIT {Math.Clamp(take, 1, 500).ToString(CultureInfo.InvariantCulture)} OFFSET {Math.Max(skip, 0).ToString(CultureInfo.InvariantCulture)}
            """))
        using (var reader = keys.ExecuteReader())
        {
            while (reader.Read())
            {
                ids.Add(reader.GetInt64(0));
                oldest = reader.GetDateTime(1);
                newest = ids.Count == 1 ? oldest : newest;
            }
        }

        var items = new List<WorkOrderRow>(ids.Count);
        if (ids.Count == 0)
        {
            return new WorkOrderRows(items, total);
        }

        using var page = command($"""
            SELECT {alias}.work_order_id, {alias}.number, {alias}.title, {alias}.status, {alias}.work_type, {alias}.priority, {alias}.department_id,
                   {alias}.asset_id, {alias}.failure_code, {alias}.created_at, {alias}.resolved_at
            FROM {from}
            WHERE ({where}) AND {alias}.work_order_id IN ({string.Join(", ", ids.Select(i => i.ToString(CultureInfo.InvariantCulture)))})
              AND {alias}.created_at BETWEEN {KpiFilter.Timestamp(oldest)} AND {KpiFilter.Timestamp(newest)}
            {order}
            """);
        using var rows = page.ExecuteReader();
        while (rows.Read())
        {
            items.Add(new WorkOrderRow(
                rows.GetInt64(0), rows.GetString(1), rows.GetString(2), rows.GetString(3), rows.GetString(4), rows.GetInt16(5),
                rows.GetInt64(6), rows.IsDBNull(7) ? null : rows.GetInt64(7), rows.IsDBNull(8) ? null : rows.GetString(8),
                rows.GetDateTime(9), rows.IsDBNull(10) ? null : rows.GetDateTime(10)));
        }

        return new WorkOrderRows(items, total);
    }
}
