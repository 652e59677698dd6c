using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ingest.Generate;

/// <summary>How long one stage of a run took.</summary>
public sealed record StageTime(string Stage, TimeSpan Took);

/// <summary>What a run wrote.</summary>
public sealed record GenerationResult(
    long RunId,
    string Tag,
    DateTime WindowStart,
    DateTime WindowEnd,
    int Machines,
    int Assets,
    int Users,
    long WorkOrders,
    long Events,
    long Failures,
    TimeSpan Elapsed,
    IReadOnlyList<StageTime> Stages);

/// <summary>Hears how a run is going (the command line draws progress bars from it).</summary>
public interface IGenerationProgress
{
    void Planning(string stage);

    void Writing(long workOrders, long total);
}

/// <summary>
/// Generates a maintenance history straight into PostgreSQL. The same seed is planned several times: trial runs of the
/// failure simulation size the plant, a full pass counts what will be written (so id blocks and work-order numbers can
/// be reserved up front), and the last pass writes it. Planning is cheap next to writing, and no pass holds more than
/// a few chunks of work orders.
/// Everything is written in one transaction; ids and each year's work-order numbers come from blocks reserved
/// beforehand under a short table lock, so the live application keeps inserting meanwhile, in every year, and carries
/// on after the generated numbers. A run that fails leaves its blocks unused (gaps, never duplicates).
/// <para>
/// A run at least as large as a history table holds (the first run into a database, or one that dwarfs it) drops the
/// table's secondary indexes and builds them after the load (<see cref="DeferredIndexes"/>): entry by entry they cost
/// more than the COPY itself. Until that run commits, the live application cannot read those tables.
/// </para>
/// </summary>
public sealed class HistoryGenerator(NpgsqlDataSource dataSource)
{
    public const int ChunkSize = 20_000;

    /// <summary>Serialises generator runs, so two of them never pick the same tag.</summary>
    private const long LockKey = 0x574f_4745_4e52; // "WOGENR"

    private const string Lock = "SELECT pg_advisory_xact_lock(@key)";

    private const string CountRuns = "SELECT count(*)::int FROM generator.runs WHERE seed = @seed";

    private const string LockTables = """
        LOCK TABLE departments, users, assets, templates, work_orders, work_order_events, alarm_episodes IN EXCLUSIVE MODE
        """;

    // With the tables locked nobody else draws from the sequence between reading it and moving it past the block.
    private const string ReserveBlock = """
        SELECT setval(q.s, COALESCE(pg_sequence_last_value(q.s), 0) + @count) - @count + 1
        FROM (SELECT pg_get_serial_sequence(@table, 'id')::regclass AS s) q
        """;

    private const string InsertRun = """
        INSERT INTO generator.runs (tag, seed, options, window_start, window_end)
        VALUES (@tag, @seed, @options::jsonb, @windowStart, @windowEnd)
        RETURNING id
        """;

    private const string RecordCounts = "UPDATE generator.runs SET counts = @counts::jsonb WHERE id = @id";

    // The trigram index costs more than everything else on work_orders when rows come one by one. A large pending
    // list lets it take new entries cheaply and merge them in bulk, at the latest just before the commit (below).
    private const string BulkLoad = """
        SET LOCAL gin_pending_list_limit = '1GB';
        SET LOCAL maintenance_work_mem = '256MB';
        SET LOCAL work_mem = '64MB'
        """;

    /// <summary>The tables the history is copied into, whose row triggers <see cref="HistoryBulkLoad"/> may leave off.</summary>
    private static readonly string[] HistoryTables = ["work_orders", "work_order_events", "alarm_episodes", "alarm_events", "alarm_work_orders", "generator.failures"];

    // Merged by us, not by the next live insert. Only the owner of an index may merge it (as for VACUUM).
    private const string MergePendingEntries = """
        SELECT gin_clean_pending_list(i.indexrelid::regclass)
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_am a ON a.oid = c.relam
        WHERE i.indrelid = 'work_orders'::regclass AND a.amname = 'gin' AND pg_has_role(c.relowner, 'USAGE')
        """;

    public async Task<GenerationResult> RunAsync(GenerateOptions options, IGenerationProgress? progress, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var stages = new List<StageTime>();
        var mark = TimeSpan.Zero;
        void Done(string stage)
        {
            stages.Add(new StageTime(stage, watch.Elapsed - mark));
            mark = watch.Elapsed;
        }

        var clock = new StressClock(options.WindowStart, options.WindowEnd);
        await EnsureSchemaAsync(cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(Lock, new { key = LockKey }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(BulkLoad, transaction: transaction, cancellationToken: cancellationToken));
        var run = await connection.ExecuteScalarAsync<int>(new CommandDefinition(CountRuns, new { seed = options.Seed }, transaction, cancellationToken: cancellationToken));
        var tag = string.Create(CultureInfo.InvariantCulture, $"G{options.Seed}R{run + 1}");

        progress?.Planning("sizing the plant");
        var (plant, assetWork) = Size(tag, options, clock, cancellationToken);
        var facilityRequests = options.WorkOrders - assetWork;
        Done("sizing the plant");

        progress?.Planning("counting the history");
        var census = Count(plant, clock, options.Seed, facilityRequests, cancellationToken);
        Done("counting the history");

        progress?.Planning("reserving ids and numbers");
        var (ids, firstNumbers) = await ReserveAsync(plant, census, options.WorkOrders, cancellationToken);
        var runId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            InsertRun,
            new
            {
                tag,
                seed = options.Seed,
                options = JsonSerializer.Serialize(new
                {
                    options.WorkOrders,
                    options.Months,
                    options.Seed,
                    End = options.End.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    options.Machines,
                }),
                windowStart = options.WindowStart,
                windowEnd = options.WindowEnd,
            },
            transaction,
            cancellationToken: cancellationToken));

        progress?.Planning("writing the organisation");
        await OrganisationWriter.WriteAsync(connection, plant, clock, ids, runId, cancellationToken);
        var alarms = await AlarmHistoryWriter.StartAsync(
            connection, transaction, plant, clock, ids, options.Seed, tag, options.WindowStart, options.WindowEnd, cancellationToken);
        Done("reserving, writing the organisation");

        var bypass = await HistoryBulkLoad.CanBypassAsync(connection, HistoryTables, cancellationToken);
        if (bypass)
        {
            await HistoryBulkLoad.BeginAsync(connection, transaction, cancellationToken);
        }

        progress?.Planning("dropping the indexes the history outgrows");
        var deferred = await DeferredIndexes.DropAsync(
            connection,
            transaction,
            [
                new PlannedLoad("work_orders", options.WorkOrders),
                new PlannedLoad("work_order_events", census.Events),
                new PlannedLoad("alarm_episodes", census.AlarmEpisodes),
                new PlannedLoad("alarm_events", 2 * census.AlarmEpisodes),
                new PlannedLoad("alarm_work_orders", census.AlarmWorkOrders),
                new PlannedLoad("generator.failures", census.Failures),
            ],
            cancellationToken);
        Done("dropping indexes to build after the load");

        var writer = new HistoryWriter(plant, clock, ids, runId, firstNumbers, await HistoryBulkLoad.ArchivedXidAsync(connection, transaction, cancellationToken));
        await WriteHistoryAsync(connection, writer, alarms, plant, clock, options, facilityRequests, progress, cancellationToken);
        Done("writing the history");
        if (bypass)
        {
            progress?.Planning("checking the history's foreign keys");
            await HistoryBulkLoad.EndAsync(
                connection,
                transaction,
                [
                    new LoadedRows("work_orders", "id", ids.WorkOrders, writer.WorkOrders),
                    new LoadedRows("work_order_events", "id", ids.Events, writer.Events),
                    new LoadedRows("alarm_episodes", "id", ids.AlarmEpisodes, alarms.Episodes),
                    new LoadedRows("alarm_events", "episode_id", ids.AlarmEpisodes, alarms.Episodes),
                    new LoadedRows("alarm_work_orders", "work_order_id", ids.WorkOrders, writer.WorkOrders),
                    new LoadedRows("generator.failures", "run_id", runId, 1),
                ],
                cancellationToken);
            Done("foreign keys and trigger effects in bulk");
        }

        progress?.Planning("building the indexes");
        await DeferredIndexes.RebuildAsync(connection, transaction, deferred, cancellationToken);
        Done("building the indexes");

        if (writer.WorkOrders != options.WorkOrders || writer.Events != census.Events || alarms.Episodes != census.AlarmEpisodes)
        {
            throw new InvalidOperationException(
                $"The written history ({writer.WorkOrders} work orders, {writer.Events} events, {alarms.Episodes} alarm episodes) differs from the counted one ({options.WorkOrders}, {census.Events}, {census.AlarmEpisodes}).");
        }

        // The occurrences as the history: their secondary indexes built after them (a work order has one at most),
        // their foreign keys checked in bulk. The run's own work orders need no lock (nobody else sees them yet), which
        // the empty load of work_orders tells the check.
        progress?.Planning("writing the PM plans behind the preventive work");
        var deferredPm = await DeferredIndexes.DropAsync(connection, transaction, [new PlannedLoad("pm_occurrences", writer.WorkOrders)], cancellationToken);
        var (pmPlans, pmOccurrences) = await PmHistoryWriter.WriteAsync(
            connection, transaction, tag, ids.WorkOrders, writer.WorkOrders, options.WindowStart, options.WindowEnd, bypass, cancellationToken);
        if (bypass)
        {
            await HistoryBulkLoad.EndAsync(
                connection,
                transaction,
                [new LoadedRows("pm_occurrences", "work_order_id", ids.WorkOrders, writer.WorkOrders), new LoadedRows("work_orders", "id", ids.WorkOrders, 0)],
                cancellationToken);
        }

        await DeferredIndexes.RebuildAsync(connection, transaction, deferredPm, cancellationToken);
        Done("writing the PM plans");

        var result = new GenerationResult(
            runId, tag, options.WindowStart, options.WindowEnd, plant.Machines.Count, plant.Assets.Count, plant.Users.Count,
            writer.WorkOrders, writer.Events, writer.Failures, TimeSpan.Zero, stages);
        await connection.ExecuteAsync(new CommandDefinition(
            RecordCounts,
            new
            {
                id = runId,
                counts = JsonSerializer.Serialize(new
                {
                    result.WorkOrders,
                    result.Events,
                    result.Failures,
                    result.Machines,
                    result.Assets,
                    result.Users,
                    FacilityRequests = facilityRequests,
                    PmPlans = pmPlans,
                    PmOccurrences = pmOccurrences,
                    AlarmEpisodes = alarms.Episodes,
                    AlarmEvents = alarms.Events,
                    Degrading = plant.Assets.Count(a => a.Degradation.Degrades),
                }),
            },
            transaction,
            cancellationToken: cancellationToken));
        progress?.Planning("merging the text index and committing");
        await connection.ExecuteAsync(new CommandDefinition(MergePendingEntries, transaction: transaction, commandTimeout: 0, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        Done("merging the text index, committing");
        return result with { Elapsed = watch.Elapsed };
    }

    /// <summary>
    /// Plans chunks on another thread while the previous chunk is written, so that planning overlaps the database's
    /// work. Three chunk buffers circulate; the order of work orders is the plan's order either way.
    /// </summary>
    private static async Task WriteHistoryAsync(
        NpgsqlConnection connection,
        HistoryWriter writer,
        AlarmHistoryWriter alarms,
        Plant plant,
        StressClock clock,
        GenerateOptions options,
        int facilityRequests,
        IGenerationProgress? progress,
        CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var planned = Channel.CreateBounded<(PlannedWorkOrder[] Chunk, int Count)>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        var free = Channel.CreateUnbounded<PlannedWorkOrder[]>();
        for (var i = 0; i < 3; i++)
        {
            free.Writer.TryWrite([.. Enumerable.Range(0, ChunkSize).Select(_ => new PlannedWorkOrder())]);
        }

        var planning = Task.Run(
            async () =>
            {
                try
                {
                    var planner = new TimelinePlanner(plant, clock, options.Seed);
                    var chunk = await free.Reader.ReadAsync(stop.Token);
                    var filled = 0;
                    foreach (var occurrence in Simulation.Run(plant, clock, options.Seed, facilityRequests))
                    {
                        planner.Plan(occurrence, chunk[filled++]);
                        if (filled == ChunkSize)
                        {
                            await planned.Writer.WriteAsync((chunk, filled), stop.Token);
                            chunk = await free.Reader.ReadAsync(stop.Token);
                            filled = 0;
                        }
                    }

                    await planned.Writer.WriteAsync((chunk, filled), stop.Token);
                    planned.Writer.Complete();
                }
                catch (Exception e)
                {
                    planned.Writer.Complete(e);
                }
            },
            stop.Token);

        try
        {
            await foreach (var (chunk, count) in planned.Reader.ReadAllAsync(stop.Token))
            {
                var first = writer.WorkOrders;
                await writer.WriteAsync(connection, chunk, count, stop.Token);
                await alarms.WriteAsync(connection, chunk, count, first, stop.Token);
                free.Writer.TryWrite(chunk);
                progress?.Writing(writer.WorkOrders, options.WorkOrders);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await planning.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// The plant whose machine work fits the requested work orders (about 85 % of them, unless --machines is given).
    /// Machines keep their own seeds, so the count grows smoothly with the machine count and a few trials settle it.
    /// </summary>
    public static (Plant Plant, int AssetWork) Size(string tag, GenerateOptions options, StressClock clock, CancellationToken cancellationToken)
    {
        int Work(Plant plant) => Simulation.CountAssetWork(plant, clock, cancellationToken);

        Plant Build(int machines) => Plant.Build(tag, options.Seed, new PlantSize(machines, options.WorkOrders, options.Months), clock);

        var target = options.WorkOrders * Plant.AssetShare;
        if (options.Machines is { } fixedCount)
        {
            var plant = Build(fixedCount);
            var work = Work(plant);
            return work <= options.WorkOrders
                ? (plant, work)
                : throw new CliException(
                    $"--machines {fixedCount} make {work} work orders of machine work in {options.Months} months, more than --work-orders {options.WorkOrders}; give fewer machines or more work orders");
        }

        // About 1.1 work orders per machine a month, as a first guess.
        var machines = Math.Max(1, (int)(target / (1.1 * options.Months)));
        for (var attempt = 0; ; attempt++)
        {
            var plant = Build(machines);
            var work = Work(plant);
            if (work <= options.WorkOrders && (work >= target * 0.9 || attempt >= 6))
            {
                return (plant, work);
            }

            if (work > options.WorkOrders && machines == 1)
            {
                throw new CliException(
                    $"--work-orders {options.WorkOrders} is too few for {options.Months} months of even one machine's history ({work}); ask for more work orders or fewer months");
            }

            var next = Math.Max(1, (int)(machines * target / Math.Max(1, work)));
            machines = next == machines ? (work > options.WorkOrders ? machines - 1 : machines + 1) : next;
        }
    }

    private static Census Count(Plant plant, StressClock clock, int seed, int facilityRequests, CancellationToken cancellationToken)
    {
        var planner = new TimelinePlanner(plant, clock, seed);
        var wo = new PlannedWorkOrder();
        var census = new Census();
        var count = 0;
        var episodes = new List<AlarmHistoryWriter.Episode>();
        foreach (var occurrence in Simulation.Run(plant, clock, seed, facilityRequests))
        {
            planner.Plan(occurrence, wo);
            census.Events += 1 + wo.Steps.Count;
            AlarmHistoryWriter.Plan(plant, seed, count, wo, clock.EndDay, episodes);
            census.AlarmEpisodes += episodes.Count;
            census.AlarmWorkOrders += episodes.Count > 0 ? 1 : 0;
            census.Failures += occurrence.Kind == OccurrenceKind.Failure ? 1 : 0;
            var year = clock.ToTime(wo.Created).Year;
            census.Years[year] = census.Years.GetValueOrDefault(year) + 1;
            if (++count % 100_000 == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        return census;
    }

    // Committed before the run: the new tables' foreign keys lock assets and work_orders until their transaction ends,
    // and the id reservation locks those tables from a connection of its own.
    private async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(Lock, new { key = LockKey }, transaction, cancellationToken: cancellationToken));
        await GeneratorSchema.EnsureAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task<(IdBlocks Ids, Dictionary<int, long> FirstNumbers)> ReserveAsync(Plant plant, Census census, long workOrders, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(LockTables, transaction: transaction, cancellationToken: cancellationToken));

        async Task<long> Block(string table, long count) => count == 0
            ? 1
            : await connection.ExecuteScalarAsync<long>(new CommandDefinition(ReserveBlock, new { table, count }, transaction, cancellationToken: cancellationToken));

        var ids = new IdBlocks(
            await Block("departments", plant.Departments.Count),
            await Block("users", plant.Users.Count),
            await Block("assets", plant.Assets.Count),
            await Block("templates", plant.Templates.Count),
            await Block("work_orders", workOrders),
            await Block("work_order_events", census.Events),
            await Block("alarm_episodes", census.AlarmEpisodes));
        var firstNumbers = await WorkOrderNumbers.TakeAsync(
            connection, transaction, census.Years.ToDictionary(y => y.Key, y => (long)y.Value), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (ids, firstNumbers);
    }

    private sealed class Census
    {
        public long Events { get; set; }

        public long AlarmEpisodes { get; set; }

        public long AlarmWorkOrders { get; set; }

        public long Failures { get; set; }

        public Dictionary<int, int> Years { get; } = [];
    }
}
