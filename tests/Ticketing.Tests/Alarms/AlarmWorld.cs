using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Alarms;
using WorkOrders.Ticketing.Meters;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Tests.Alarms;

/// <summary>
/// An organisation of its own (a site with a line and a pump) on a shared test database, an alarm source made by its
/// administrator, a clock the test moves, and alarm services built over any data source, so a test can run two
/// "instances" on two data sources, or a new one after a "restart".
/// </summary>
public sealed class AlarmWorld
{
    private AlarmWorld(TestDatabase database, TestOrg org, AlarmSourceKey source, long lineId, FakeTimeProvider clock)
    {
        Database = database;
        Org = org;
        Source = source;
        LineId = lineId;
        Clock = clock;
    }

    public TestDatabase Database { get; }

    public NpgsqlDataSource Data => Database.DataSource;

    public TestOrg Org { get; }

    public AlarmSourceKey Source { get; }

    public long LineId { get; }

    public FakeTimeProvider Clock { get; }

    public Actor Admin => Org[Role.Admin];

    public DateTime Now => Clock.GetUtcNow().UtcDateTime;

    public static AlarmOptions DefaultOptions => new();

    public static async Task<AlarmWorld> CreateAsync(TestDatabase database)
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero));
        var org = await TestOrg.CreateAsync(database.DataSource);
        var created = await new AlarmSources(database.DataSource, clock).CreateAsync(new AlarmSourceRequest($"Scada {org.Suffix}"), org[Role.Admin], CancellationToken.None);
        var source = await new AlarmSources(database.DataSource, clock).FindByKeyAsync(created.Value!.ApiKey, CancellationToken.None);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var line = await connection.ExecuteScalarAsync<long>("SELECT parent_id FROM assets WHERE id = @id", new { id = org.MachineId });
        return new AlarmWorld(database, org, source!, line, clock);
    }

    public AlarmIngestion Ingestion(NpgsqlDataSource? data = null, AlarmOptions? options = null)
    {
        data ??= Data;
        var settings = Options.Create(options ?? DefaultOptions);
        var engine = new AlarmEngine(new CreateWorkOrder(data, Clock), new ApplyTransition(data, Clock), settings);
        return new AlarmIngestion(data, engine, new MeterRegister(data, Clock), Clock, settings, NullLogger<AlarmIngestion>.Instance);
    }

    public AlarmTimers Timers(NpgsqlDataSource? data = null)
    {
        data ??= Data;
        var settings = Options.Create(DefaultOptions);
        var engine = new AlarmEngine(new CreateWorkOrder(data, Clock), new ApplyTransition(data, Clock), settings);
        return new AlarmTimers(data, engine, Clock, settings, NullLogger<AlarmTimers>.Instance);
    }

    public async Task<long> RuleAsync(AlarmRuleRequest request)
    {
        var made = await new AlarmRules(Data, Clock).CreateAsync(request, Admin, CancellationToken.None);
        Assert.True(made.Succeeded, made.Failure?.Message);
        return made.Value!.Id;
    }

    /// <summary>A rule on the pump: temperature above 80 (deadband 1), fault 'bearing', on the org's repair template.</summary>
    public Task<long> TemperatureRuleAsync(long? assetId = null, string? assetType = null, int forSeconds = 0, decimal deadband = 1, decimal threshold = 80) =>
        RuleAsync(new AlarmRuleRequest(
            assetType is null ? assetId ?? Org.MachineId : null, assetType, "temperature", "above", threshold, deadband, forSeconds, 0, "major", "bearing", Org.TemplateId));

    public async Task<long> AssetAsync(string prefix, string kind, long parentId, string? type = null)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(
            "INSERT INTO assets (code, name, kind, parent_id, asset_type) VALUES (@code, @code, @kind, @parentId, @type) RETURNING id",
            new { code = $"{prefix}-{Org.Suffix}", kind, parentId, type });
    }

    public string Code(string prefix) => $"{prefix}-{Org.Suffix}";

    public string MachineCode => $"M-{Org.Suffix}";

    public Task<AlarmBatchResult> SendAsync(AlarmIngestion ingestion, params AlarmEventInput[] events) =>
        ingestion.IngestAsync(Source, AlarmChannel.Api, events, CancellationToken.None);

    public AlarmEventInput Reading(string eventId, DateTime at, decimal value, string? assetCode = null, string signal = "temperature") =>
        new($"{Org.Suffix}-{eventId}", assetCode ?? MachineCode, null, signal, value, null, at);

    public AlarmEventInput State(string eventId, DateTime at, string state, string assetCode, string signal) =>
        new($"{Org.Suffix}-{eventId}", assetCode, null, signal, null, state, at);

    /// <summary>Work orders raised by alarms on an asset.</summary>
    public async Task<List<(long Id, string Status, long Occurrences, int Episodes, long? RepeatOf)>> AlarmWorkOrdersAsync(long assetId)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return [.. await connection.QueryAsync<(long, string, long, int, long?)>(
            """
            SELECT w.id, w.status, a.occurrences, a.episodes, a.repeat_of FROM alarm_work_orders a JOIN work_orders w ON w.id = a.work_order_id
            WHERE a.asset_id = @assetId ORDER BY w.id
            """,
            new { assetId })];
    }

    public async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return (await connection.ExecuteScalarAsync<T>(sql, args))!;
    }

    public Task<string> CountStateAsync(long assetId) => ScalarAsync<string>("SELECT state FROM alarm_states WHERE asset_id = @assetId", new { assetId });

    public async Task<long> CountAsync(string sql, object? args = null)
    {
        await using var connection = await Data.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>(sql, args);
    }

    /// <summary>Moves a work order through the lifecycle as its department's manager.</summary>
    public async Task MoveAsync(long workOrderId, WorkOrderAction action, long? assigneeId = null, string? note = null)
    {
        await using var connection = await Data.OpenConnectionAsync();
        var version = await connection.ExecuteScalarAsync<int>("SELECT row_version FROM work_orders WHERE id = @workOrderId", new { workOrderId });
        var moved = await new ApplyTransition(Data, Clock).HandleAsync(
            workOrderId, new TransitionRequest(WireNames.Of(action), note, assigneeId, null, version), Org[Role.Manager], CancellationToken.None);
        Assert.True(moved.Succeeded, moved.Failure?.Message);
    }
}
