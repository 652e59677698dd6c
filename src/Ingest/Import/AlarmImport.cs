using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Npgsql;
using Spectre.Console;
using WorkOrders.Ticketing.Alarms;

namespace WorkOrders.Ingest.Import;

/// <summary>
/// Which columns of an alarm journal hold what. Only <see cref="Asset"/>, <see cref="Point"/> and <see cref="Raised"/>
/// are required; a column set to null is not read.
/// </summary>
public sealed record AlarmColumns
{
    /// <summary>The source's own id of the alarm; without it the key is made of asset, point, code and raised time.</summary>
    public string? EventId { get; init; } = "event_id";

    public string Asset { get; init; } = "asset_code";

    /// <summary>The alarm point (tag, signal) on the asset.</summary>
    public string Point { get; init; } = "point";

    public string Raised { get; init; } = "raised_at";

    /// <summary>Empty: the alarm had not cleared when the journal was exported.</summary>
    public string? Cleared { get; init; } = "cleared_at";

    public string? Severity { get; init; } = "severity";

    /// <summary>The alarm's code, the fault code it counts under; empty: the point.</summary>
    public string? Code { get; init; } = "code";

    public string? Message { get; init; } = "message";
}

/// <summary>
/// The mapping of an alarm journal: the alarm source it came from (one revoked source per name, created when missing),
/// the zone of its times, its columns, its severities translated to critical, major, minor or warning, and the template
/// whose department the alarms count under.
/// </summary>
public sealed record AlarmImportMapping
{
    public string Source { get; init; } = "Alarm history";

    public string TimeZone { get; init; } = "UTC";

    public AlarmColumns Columns { get; init; } = new();

    /// <summary>Source severity text (trimmed, any case) to critical, major, minor or warning; those four are understood as they are.</summary>
    public Dictionary<string, string> Severities { get; init; } = [];

    /// <summary>The severity of a row with none; without it such a row is rejected.</summary>
    public string? DefaultSeverity { get; init; }

    /// <summary>Texts the journal writes for "no value", read as empty.</summary>
    public IReadOnlyList<string> MissingValues { get; init; } = [];

    /// <summary>The template whose department the alarms count under; created (corrective) when missing.</summary>
    public string Template { get; init; } = "Alarm history";

    /// <summary>The department of the template when the import creates it; created when missing.</summary>
    public string Department { get; init; } = "Maintenance";

    /// <summary>Whether the mapping came from a file: then every column it names must be in the journal.</summary>
    internal bool FromFile { get; init; }

    public static readonly string[] Severity = ["critical", "major", "minor", "warning"];

    public static AlarmImportMapping Load(string path)
    {
        AlarmImportMapping? mapping;
        try
        {
            using var stream = File.OpenRead(path);
            mapping = JsonSerializer.Deserialize<AlarmImportMapping>(stream, ImportMapping.Json);
        }
        catch (JsonException e)
        {
            throw new MappingException($"the mapping {path} is not valid: {e.Message}");
        }

        return (mapping ?? throw new MappingException($"the mapping {path} is empty")) with { FromFile = true };
    }

    internal TimeZoneInfo Zone => TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out var zone)
        ? zone
        : throw new MappingException($"timeZone '{TimeZone}' is not a time zone (use an IANA name such as Asia/Taipei)");

    internal void Check()
    {
        if (string.IsNullOrWhiteSpace(Source) || Source.Trim().Length > 100)
        {
            throw new MappingException("source names the alarm source in 1 to 100 characters");
        }

        if (string.IsNullOrWhiteSpace(Template) || string.IsNullOrWhiteSpace(Department))
        {
            throw new MappingException("template and department must not be empty");
        }

        foreach (var (from, to) in Severities)
        {
            if (!Severity.Contains(to))
            {
                throw new MappingException($"severities maps '{from}' to '{to}'; use critical, major, minor or warning");
            }
        }

        if (DefaultSeverity is { } fallback && !Severity.Contains(fallback))
        {
            throw new MappingException($"defaultSeverity '{fallback}' is not critical, major, minor or warning");
        }

        _ = Zone;
    }
}

/// <summary>A journal row that passed the checks: its stable key, the asset by code, and the alarm.</summary>
public sealed record AlarmRow(long SourceRow, string Key, string AssetCode, string Point, string FaultCode, string Severity, DateTime Raised, DateTime? Cleared, string? Message)
{
    /// <summary>What the reject file names the row by: the source's event id, else asset/point.</summary>
    public string? ExternalId { get; init; }

    public string RaiseEventId => Key + ":raised";

    public string ClearEventId => Key + ":cleared";
}

public sealed record AlarmImportResult(long Read, long Added, long AlreadyThere, long ClearedSince, long Rejected, string? RejectsPath);

/// <summary>
/// The checks of one journal row, with no database. The row's key is the source's event id, or else a hash of asset,
/// point, code and raised time, so the same alarm read again (from the same export or a later one) has the same key.
/// </summary>
public sealed class AlarmRowRules
{
    public const int MaxKeyLength = AlarmIngestion.MaxEventIdLength - 10;
    public const int MaxFaultCodeLength = 50;
    public const int MaxMessageLength = 2000;

    private readonly AlarmImportMapping _mapping;
    private readonly TimeZoneInfo _zone;
    private readonly DateTime _latest;
    private readonly Dictionary<string, int> _index;
    private readonly HashSet<string> _missing;
    private readonly Dictionary<string, long> _keys = new(StringComparer.Ordinal);

    public AlarmRowRules(IReadOnlyList<string> columns, AlarmImportMapping mapping, DateTime latest)
    {
        _mapping = mapping;
        _zone = mapping.Zone;
        _latest = latest;
        _index = columns.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.OrdinalIgnoreCase);
        _missing = new HashSet<string>(mapping.MissingValues.Select(v => v.Trim()), StringComparer.OrdinalIgnoreCase);
    }

    public RowVerdict Decide(SourceRow row, out AlarmRow? alarm)
    {
        alarm = null;
        var c = _mapping.Columns;
        var problems = new List<RowProblem>();
        string? Get(string? column) =>
            column is not null && _index.TryGetValue(column, out var i) && row.Values[i] is { } text && !string.IsNullOrWhiteSpace(text) && !_missing.Contains(text.Trim())
                ? text.Trim()
                : null;

        var eventId = Get(c.EventId);
        var asset = Get(c.Asset);
        var point = Get(c.Point);
        var code = Get(c.Code) ?? point;
        var message = Get(c.Message);
        if (asset is null)
        {
            problems.Add(new(c.Asset, "is empty; the asset's code is required."));
        }
        else if (asset.Length > AlarmIngestion.MaxCodeLength)
        {
            problems.Add(new(c.Asset, $"is longer than {AlarmIngestion.MaxCodeLength} characters."));
        }

        if (point is null)
        {
            problems.Add(new(c.Point, "is empty; the alarm point (tag) is required."));
        }
        else if (point.Length > AlarmIngestion.MaxSignalLength)
        {
            problems.Add(new(c.Point, $"is longer than {AlarmIngestion.MaxSignalLength} characters."));
        }

        if (code?.Length > MaxFaultCodeLength)
        {
            problems.Add(new(Get(c.Code) is null ? c.Point : c.Code!, $"'{code}' is longer than the {MaxFaultCodeLength} characters of a fault code."));
        }

        if (message?.Length > MaxMessageLength)
        {
            problems.Add(new(c.Message!, $"is longer than {MaxMessageLength} characters."));
        }

        var raised = Time(c.Raised, Get(c.Raised), required: true, problems);
        var cleared = Time(c.Cleared, Get(c.Cleared), required: false, problems);
        if (raised is { } r && r > _latest)
        {
            problems.Add(new(c.Raised, $"{r:yyyy-MM-dd HH:mm:ss}Z is in the future."));
        }

        if (raised is { } from && cleared is { } to && to < from)
        {
            problems.Add(new(c.Cleared!, $"{to:yyyy-MM-dd HH:mm:ss}Z is before the alarm was raised ({from:yyyy-MM-dd HH:mm:ss}Z)."));
        }

        var severity = Severity(Get(c.Severity), problems);
        if (eventId?.Length > MaxKeyLength)
        {
            problems.Add(new(c.EventId!, $"is longer than {MaxKeyLength} characters."));
        }

        string? key = null;
        if (problems.Count == 0)
        {
            key = eventId ?? "h:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
                string.Join('\u001f', asset, point, code, raised!.Value.Ticks.ToString(CultureInfo.InvariantCulture)))))[..40];
            if (!_keys.TryAdd(key, row.Number))
            {
                problems.Add(eventId is null
                    ? new(c.Raised, $"the same alarm (asset, point, code and raised time) is on row {_keys[key]} already.")
                    : new(c.EventId!, $"'{eventId}' is on row {_keys[key]} already."));
            }
        }

        if (problems.Count == 0)
        {
            alarm = new AlarmRow(row.Number, key!, asset!, point!, code!, severity!, raised!.Value, cleared, message) { ExternalId = eventId ?? $"{asset}/{point}" };
        }

        return new RowVerdict(row.Number, eventId ?? (asset is null ? null : $"{asset}/{point}"), null, problems);
    }

    private DateTime? Time(string? column, string? text, bool required, List<RowProblem> problems)
    {
        if (text is null)
        {
            if (required)
            {
                problems.Add(new(column!, "is empty; the time the alarm was raised is required."));
            }

            return null;
        }

        if (ReadingRowRules.TryParseTime(text, _zone, out var utc))
        {
            return utc;
        }

        problems.Add(new(column!, $"'{text}' is not a date and time (ISO 8601 expected, such as 2026-05-06 07:30)."));
        return null;
    }

    private string? Severity(string? text, List<RowProblem> problems)
    {
        var column = _mapping.Columns.Severity ?? "severity";
        if (text is null)
        {
            if (_mapping.DefaultSeverity is null)
            {
                problems.Add(new(column, "is empty, and the mapping has no defaultSeverity."));
            }

            return _mapping.DefaultSeverity;
        }

        var mapped = _mapping.Severities.FirstOrDefault(p => string.Equals(p.Key.Trim(), text, StringComparison.OrdinalIgnoreCase)).Value
            ?? text.ToLowerInvariant();
        if (AlarmImportMapping.Severity.Contains(mapped))
        {
            return mapped;
        }

        problems.Add(new(column, $"'{text}' is not a severity the mapping knows (critical, major, minor, warning, or a key of severities)."));
        return null;
    }
}

/// <summary>
/// Imports another system's alarm journal as alarm episodes and their raise and clear events: history, so nothing is
/// judged by the live rules and no work order is raised (the episode's outcome is 'imported'). Each (asset, point, code,
/// severity) gets an inactive rule of its own, which the live engine never matches, so the episodes count in the alarm
/// analytics (by fault code, severity and the template's department) as live ones do. A row's raise event id is its
/// key: a row already imported is counted as already there, and one that has cleared since (a later export) clears its
/// episode. Batches are one transaction each, under a lock of the source, so two runs of one journal never add an alarm
/// twice.
/// </summary>
public sealed class AlarmImport(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int BatchSize = 1000;

    private const string FindSource = "SELECT id FROM alarm_sources WHERE name = @name";

    // A source made by an import is revoked from the start: nothing may post live events with it.
    private const string InsertSource = """
        INSERT INTO alarm_sources (name, api_key, secret, created_by, created_at, revoked_at)
        VALUES (@name, @apiKey, @secret, @createdBy, @now, @now)
        ON CONFLICT (name) DO NOTHING
        """;

    private const string EnsureTemplate = """
        WITH made AS (
            INSERT INTO templates (name, work_type, default_priority, department_id, fields)
            VALUES (@name, 'corrective', 3, @departmentId, '[]'::jsonb)
            ON CONFLICT (name) DO NOTHING
            RETURNING id)
        SELECT id FROM made
        UNION ALL SELECT id FROM templates WHERE name = @name
        LIMIT 1
        """;

    private const string Assets = """
        WITH RECURSIVE found AS (SELECT id, code, parent_id FROM assets WHERE code = ANY(@codes)),
        up AS (
            SELECT id AS asset_id, id AS node, parent_id FROM found
            UNION ALL
            SELECT up.asset_id, p.id, p.parent_id FROM up JOIN assets p ON p.id = up.parent_id)
        SELECT f.id, f.code, u.node AS site_id
        FROM found f LEFT JOIN up u ON u.asset_id = f.id AND u.parent_id IS NULL
        """;

    private const string FindRule = """
        SELECT id FROM alarm_rules
        WHERE asset_id = @assetId AND signal = @signal AND fault_code = @faultCode AND severity = @severity AND comparison = 'state'
          AND template_id = @templateId AND NOT active
        ORDER BY id LIMIT 1
        """;

    private const string InsertRule = """
        INSERT INTO alarm_rules (asset_id, signal, comparison, severity, fault_code, template_id, active, created_by, created_at)
        VALUES (@assetId, @signal, 'state', @severity, @faultCode, @templateId, false, @createdBy, @now)
        RETURNING id
        """;

    private const string Stored = "SELECT event_id, episode_id FROM alarm_events WHERE source_id = @sourceId AND event_id = ANY(@ids)";

    private const string EpisodeIds = "SELECT nextval(pg_get_serial_sequence('alarm_episodes', 'id')) FROM generate_series(1, @count)";

    private const string InsertEpisodes = """
        INSERT INTO alarm_episodes (id, asset_id, rule_id, site_id, raised_at, cleared_at, outcome, note, recorded_at)
        OVERRIDING SYSTEM VALUE
        SELECT k.id, k.a, k.r, k.s, k.raised, k.cleared, 'imported', k.note, @now
        FROM unnest(@ids::bigint[], @assetIds::bigint[], @ruleIds::bigint[], @siteIds::bigint[], @raised::timestamptz[], @cleared::timestamptz[], @notes::text[])
            AS k(id, a, r, s, raised, cleared, note)
        """;

    private const string InsertEvents = """
        INSERT INTO alarm_events (source_id, event_id, asset_id, signal, state, occurred_at, received_at, channel, outcome, rule_id, episode_id)
        SELECT @sourceId, k.e, k.a, k.s, k.st, k.t, @now, 'import', k.o, k.r, k.ep
        FROM unnest(@eventIds::text[], @assetIds::bigint[], @signals::text[], @states::text[], @times::timestamptz[], @outcomes::text[],
                    @ruleIds::bigint[], @episodeIds::bigint[]) AS k(e, a, s, st, t, o, r, ep)
        ON CONFLICT (source_id, event_id) DO NOTHING
        """;

    private const string ClearEpisodes = """
        UPDATE alarm_episodes e SET cleared_at = k.cleared
        FROM unnest(@episodeIds::bigint[], @cleared::timestamptz[]) AS k(id, cleared)
        WHERE e.id = k.id AND e.cleared_at IS NULL
        """;

    private readonly Dictionary<(long, string, string, string), long> _rules = [];

    public async Task<AlarmImportResult> RunAsync(string file, AlarmImportMapping mapping, string rejectsPath, CancellationToken cancellationToken)
    {
        mapping.Check();
        var c = mapping.Columns;
        string?[] named = [c.EventId, c.Cleared, c.Severity, c.Code, c.Message];
        using var source = mapping.FromFile
            ? SourceFile.OpenTable(file, [c.Asset, c.Point, c.Raised, .. named.OfType<string>()])
            : SourceFile.OpenTable(file, [c.Asset, c.Point, c.Raised], [.. named.OfType<string>()]);
        var now = clock.GetUtcNow().UtcDateTime;
        var rules = new AlarmRowRules(source.Columns, mapping, now + TimeSpan.FromMinutes(5));
        await using var rejects = new RejectFile(rejectsPath);
        var rows = new List<AlarmRow>();
        long read = 0, rejected = 0, added = 0, already = 0, clearedSince = 0;
        foreach (var row in source.Rows(cancellationToken))
        {
            read++;
            var verdict = rules.Decide(row, out var alarm);
            if (alarm is null)
            {
                rejected++;
                await rejects.WriteAsync(verdict, cancellationToken);
            }
            else
            {
                rows.Add(alarm);
            }
        }

        var (sourceId, userId, templateId) = await PrepareAsync(mapping, now, cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var assets = (await connection.QueryAsync<(long Id, string Code, long? SiteId)>(new CommandDefinition(
            Assets, new { codes = rows.Select(r => r.AssetCode).Distinct(StringComparer.Ordinal).ToArray() }, cancellationToken: cancellationToken)))
            .ToDictionary(a => a.Code, a => (a.Id, a.SiteId), StringComparer.Ordinal);
        var known = new List<AlarmRow>(rows.Count);
        foreach (var row in rows)
        {
            if (assets.ContainsKey(row.AssetCode))
            {
                known.Add(row);
                continue;
            }

            rejected++;
            await rejects.WriteAsync(
                new RowVerdict(row.SourceRow, row.ExternalId, null, [new(c.Asset, $"'{row.AssetCode}' is not an asset code of the register.")]), cancellationToken);
        }

        foreach (var batch in known.OrderBy(r => r.Raised).ThenBy(r => r.SourceRow).Chunk(BatchSize))
        {
            var (a, t, s) = await WriteBatchAsync(connection, batch, assets, sourceId, userId, templateId, now, cancellationToken);
            added += a;
            already += t;
            clearedSince += s;
        }

        return new AlarmImportResult(read, added, already, clearedSince, rejected, rejects.Written ? rejects.Path : null);
    }

    private async Task<(long Source, long User, long Template)> PrepareAsync(AlarmImportMapping mapping, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var userId = await ImportReferences.ImportUserAsync(connection, transaction, cancellationToken);
        var name = mapping.Source.Trim();
        await connection.ExecuteAsync(new CommandDefinition(
            InsertSource,
            new
            {
                name,
                apiKey = "import-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
                createdBy = userId,
                now,
            },
            transaction,
            cancellationToken: cancellationToken));
        var sourceId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(FindSource, new { name }, transaction, cancellationToken: cancellationToken));
        var templateId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT id FROM templates WHERE name = @name", new { name = mapping.Template.Trim() }, transaction, cancellationToken: cancellationToken));
        if (templateId is null)
        {
            var departmentId = await ImportReferences.EnsureDepartmentAsync(connection, transaction, mapping.Department.Trim(), cancellationToken);
            templateId = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                EnsureTemplate, new { name = mapping.Template.Trim(), departmentId }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return (sourceId, userId, templateId.Value);
    }

    private async Task<(long Added, long AlreadyThere, long ClearedSince)> WriteBatchAsync(
        NpgsqlConnection connection, AlarmRow[] batch, Dictionary<string, (long Id, long? SiteId)> assets, long sourceId, long userId, long templateId, DateTime now,
        CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // One run at a time per source: the check of what is stored and the writes after it see the same journal.
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtextextended('alarm-import', @sourceId))", new { sourceId }, transaction, cancellationToken: cancellationToken));
        var stored = (await connection.QueryAsync<(string EventId, long? EpisodeId)>(new CommandDefinition(
            Stored,
            new { sourceId, ids = batch.SelectMany(r => new[] { r.RaiseEventId, r.ClearEventId }).ToArray() },
            transaction,
            cancellationToken: cancellationToken))).ToDictionary(e => e.EventId, e => e.EpisodeId, StringComparer.Ordinal);

        var fresh = batch.Where(r => !stored.ContainsKey(r.RaiseEventId)).ToList();
        var clearing = batch.Where(r => r.Cleared is not null && stored.ContainsKey(r.RaiseEventId) && !stored.ContainsKey(r.ClearEventId)).ToList();
        var ruleIds = new long[fresh.Count];
        for (var i = 0; i < fresh.Count; i++)
        {
            ruleIds[i] = await RuleAsync(connection, transaction, assets[fresh[i].AssetCode].Id, fresh[i], templateId, userId, now, cancellationToken);
        }

        var episodeIds = fresh.Count == 0 ? [] : (await connection.QueryAsync<long>(new CommandDefinition(
            EpisodeIds, new { count = fresh.Count }, transaction, cancellationToken: cancellationToken))).ToArray();
        if (fresh.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                InsertEpisodes,
                new
                {
                    now,
                    ids = episodeIds,
                    assetIds = fresh.Select(r => assets[r.AssetCode].Id).ToArray(),
                    ruleIds,
                    siteIds = fresh.Select(r => assets[r.AssetCode].SiteId).ToArray(),
                    raised = fresh.Select(r => r.Raised).ToArray(),
                    cleared = fresh.Select(r => r.Cleared).ToArray(),
                    notes = fresh.Select(r => r.Message).ToArray(),
                },
                transaction,
                cancellationToken: cancellationToken));
        }

        if (clearing.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                ClearEpisodes,
                new { episodeIds = clearing.Select(r => stored[r.RaiseEventId]!.Value).ToArray(), cleared = clearing.Select(r => r.Cleared!.Value).ToArray() },
                transaction,
                cancellationToken: cancellationToken));
        }

        // The raise of each new alarm, and the clear of each new alarm that cleared and of each stored one that has cleared since.
        var events = new List<(string Id, AlarmRow Row, string State, DateTime At, string Outcome, long Episode)>();
        for (var i = 0; i < fresh.Count; i++)
        {
            events.Add((fresh[i].RaiseEventId, fresh[i], "raised", fresh[i].Raised, AlarmOutcomes.Imported, episodeIds[i]));
            if (fresh[i].Cleared is { } cleared)
            {
                events.Add((fresh[i].ClearEventId, fresh[i], "cleared", cleared, AlarmOutcomes.Cleared, episodeIds[i]));
            }
        }

        events.AddRange(clearing.Select(r => (r.ClearEventId, r, "cleared", r.Cleared!.Value, AlarmOutcomes.Cleared, stored[r.RaiseEventId]!.Value)));
        if (events.Count > 0)
        {
            var rules = fresh.Select((r, i) => (r.Key, Rule: ruleIds[i])).ToDictionary(x => x.Key, x => (long?)x.Rule, StringComparer.Ordinal);
            await connection.ExecuteAsync(new CommandDefinition(
                InsertEvents,
                new
                {
                    sourceId,
                    now,
                    eventIds = events.Select(e => e.Id).ToArray(),
                    assetIds = events.Select(e => assets[e.Row.AssetCode].Id).ToArray(),
                    signals = events.Select(e => e.Row.Point).ToArray(),
                    states = events.Select(e => e.State).ToArray(),
                    times = events.Select(e => e.At).ToArray(),
                    outcomes = events.Select(e => e.Outcome).ToArray(),
                    ruleIds = events.Select(e => rules.GetValueOrDefault(e.Row.Key)).ToArray(),
                    episodeIds = events.Select(e => e.Episode).ToArray(),
                },
                transaction,
                cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return (fresh.Count, batch.Length - fresh.Count, clearing.Count);
    }

    /// <summary>The inactive rule an imported alarm counts under, one per asset, point, fault code and severity; made when missing.</summary>
    private async Task<long> RuleAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, long assetId, AlarmRow row, long templateId, long userId, DateTime now, CancellationToken cancellationToken)
    {
        var key = (assetId, row.Point, row.FaultCode, row.Severity);
        if (_rules.TryGetValue(key, out var id))
        {
            return id;
        }

        var parameters = new { assetId, signal = row.Point, faultCode = row.FaultCode, severity = row.Severity, templateId, createdBy = userId, now };
        id = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(FindRule, parameters, transaction, cancellationToken: cancellationToken))
            ?? await connection.ExecuteScalarAsync<long>(new CommandDefinition(InsertRule, parameters, transaction, cancellationToken: cancellationToken));
        // A batch that rolls back fails the whole run, so a rule cached here is never one that was rolled back and then used.
        _rules[key] = id;
        return id;
    }

    /// <summary>The verb: <c>import-alarms --file FILE [--mapping FILE]</c>.</summary>
    internal static Command Verb()
    {
        var file = new Option<string>("--file")
        {
            Description = "the alarm journal: CSV, CSV.gz, Parquet or .xlsx, one row per alarm (raised and, once it cleared, cleared)",
            HelpName = "FILE",
            Required = true,
        };
        var mapping = new Option<string?>("--mapping")
        {
            Description = "its columns, severities, time zone and source (samples/alarm-history-mapping.json); default: columns event_id, asset_code, point, raised_at, cleared_at, severity, code, message in UTC",
            HelpName = "FILE",
        };
        var rejects = new Option<string?>("--rejects") { Description = "where rows that fail go, with the field and reason (default: FILE.rejects.csv)", HelpName = "FILE" };
        var command = new Command("import-alarms", "import another system's alarm history as alarm episodes (no work orders); alarms already imported are skipped")
        {
            file, mapping, rejects,
        };
        command.SetRun(async (parsed, cancellationToken) =>
        {
            var path = Cli.ExistingFile(parsed.GetRequiredValue(file));

            await using var data = NpgsqlDataSource.Create(Cli.ConnectionString());
            await Cli.RequireMigratedAsync(data, cancellationToken);
            AlarmImportResult result;
            try
            {
                var map = parsed.GetValue(mapping) is { } mappingPath
                    ? AlarmImportMapping.Load(File.Exists(mappingPath) ? Path.GetFullPath(mappingPath) : throw new MappingException($"--mapping {mappingPath} does not exist"))
                    : new AlarmImportMapping();
                result = await new AlarmImport(data, TimeProvider.System).RunAsync(
                    path, map, parsed.GetValue(rejects) ?? $"{Path.GetFileName(path)}.rejects.csv", cancellationToken);
            }
            catch (MappingException e)
            {
                throw new CliException(e.Message, Cli.Failed);
            }

            AnsiConsole.MarkupLine(
                $"[green]{result.Added:N0}[/] alarms added, {result.AlreadyThere:N0} already there ({result.ClearedSince:N0} of them cleared since), " +
                $"[red]{result.Rejected:N0}[/] rejected, of {result.Read:N0} rows; no work orders were raised");
            if (result.RejectsPath is { } rejected)
            {
                AnsiConsole.MarkupLine($"rejected rows and reasons: [blue]{Markup.Escape(rejected)}[/]");
            }

            return result.Rejected > 0 ? 1 : 0;
        });
        return command;
    }
}
