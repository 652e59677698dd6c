using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Alarms;

/// <summary>A rule as administrators see it.</summary>
public sealed record AlarmRuleView(
    long Id, long? AssetId, string? AssetCode, string? AssetType, string Signal, string Comparison, decimal? Threshold, decimal Deadband,
    int ForSeconds, int ClearSeconds, string Severity, string FaultCode, long TemplateId, string TemplateName, bool InhibitsSite, bool Active, DateTime CreatedAt);

/// <summary>
/// A new rule: for one asset (<see cref="AssetId"/>) or every asset of a type; <see cref="Comparison"/> above/below a
/// threshold, or state (the source sends raised/cleared).
/// </summary>
public sealed record AlarmRuleRequest(
    long? AssetId, string? AssetType, string? Signal, string? Comparison, decimal? Threshold, decimal? Deadband, int? ForSeconds, int? ClearSeconds,
    string? Severity, string? FaultCode, long? TemplateId, bool InhibitsSite = false);

/// <summary>Administrators, planners and reliability engineers define alarm rules; a rule is switched off, never edited, so past episodes keep their rule.</summary>
public sealed class AlarmRules(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public static readonly string[] Severities = ["critical", "major", "minor", "warning"];

    private const string Select = """
        SELECT r.id, r.asset_id, a.code AS asset_code, r.asset_type, r.signal, r.comparison, r.threshold, r.deadband, r.for_seconds, r.clear_seconds,
               r.severity, r.fault_code, r.template_id, t.name AS template_name, r.inhibits_site, r.active, r.created_at
        FROM alarm_rules r JOIN templates t ON t.id = r.template_id LEFT JOIN assets a ON a.id = r.asset_id
        """;

    public static bool MayManage(Actor actor) => actor.Role is Role.Admin or Role.Planner or Role.ReliabilityEngineer;

    /// <summary>The refusal of writing rules to a role that may not manage them; also the endpoints' <c>AccessFirst</c> check.</summary>
    public static Failure? ManageRefusal(Actor actor) => MayManage(actor) ? null : Failure.Forbidden("alarm.rules_forbidden");

    public async Task<IReadOnlyList<AlarmRuleView>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return [.. await connection.QueryAsync<AlarmRuleView>(new CommandDefinition(Select + " ORDER BY r.active DESC, r.id", cancellationToken: cancellationToken))];
    }

    public async Task<Outcome<AlarmRuleView>> CreateAsync(AlarmRuleRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (ManageRefusal(actor) is { } refused)
        {
            return refused;
        }

        var errors = new FieldErrors();
        if ((request.AssetId is null) == string.IsNullOrWhiteSpace(request.AssetType))
        {
            errors.Add("assetId", "alarm.rule_asset_or_type");
        }

        if (string.IsNullOrWhiteSpace(request.Signal))
        {
            errors.Add("signal", "field.required");
        }
        else if (request.Signal.Trim().Length > AlarmIngestion.MaxSignalLength)
        {
            errors.Add("signal", "field.too_long", AlarmIngestion.MaxSignalLength);
        }

        if (!WireNames.TryParse<AlarmComparison>(request.Comparison, out var comparison))
        {
            errors.Add("comparison", "field.one_of", "above, below, state");
        }
        else if (comparison == AlarmComparison.State ? request.Threshold is not null : request.Threshold is null)
        {
            errors.Add("threshold", comparison == AlarmComparison.State ? "alarm.rule_no_threshold" : "field.required");
        }

        if (request.Deadband is < 0)
        {
            errors.Add("deadband", "alarm.rule_not_negative");
        }

        if (request.ForSeconds is < 0 or > 604800)
        {
            errors.Add("forSeconds", "alarm.rule_seconds", 604800);
        }

        if (request.ClearSeconds is < 0 or > 604800)
        {
            errors.Add("clearSeconds", "alarm.rule_seconds", 604800);
        }

        if (request.Severity is null || !Severities.Contains(request.Severity))
        {
            errors.Add("severity", "field.one_of", string.Join(", ", Severities));
        }

        if (string.IsNullOrWhiteSpace(request.FaultCode))
        {
            errors.Add("faultCode", "field.required");
        }
        else if (request.FaultCode.Trim().Length > 50)
        {
            errors.Add("faultCode", "field.too_long", 50);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (request.TemplateId is not { } templateId)
        {
            errors.Add("templateId", "field.required");
        }
        else if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                     "SELECT EXISTS (SELECT 1 FROM templates WHERE id = @templateId AND active)", new { templateId }, cancellationToken: cancellationToken)))
        {
            errors.Add("templateId", "template.unusable", templateId);
        }

        if (request.AssetId is { } assetId && !await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM assets WHERE id = @assetId)", new { assetId }, cancellationToken: cancellationToken)))
        {
            errors.Add("assetId", "asset.missing", assetId);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            INSERT INTO alarm_rules (asset_id, asset_type, signal, comparison, threshold, deadband, for_seconds, clear_seconds, severity, fault_code,
                template_id, inhibits_site, created_by, created_at)
            VALUES (@assetId, @assetType, @signal, @comparison, @threshold, @deadband, @forSeconds, @clearSeconds, @severity, @faultCode,
                @templateId, @inhibitsSite, @createdBy, @now)
            RETURNING id
            """,
            new
            {
                request.AssetId,
                assetType = request.AssetId is null ? request.AssetType!.Trim() : null,
                signal = request.Signal!.Trim(),
                comparison = WireNames.Of(comparison),
                threshold = comparison == AlarmComparison.State ? null : request.Threshold,
                deadband = request.Deadband ?? 0,
                forSeconds = request.ForSeconds ?? 0,
                clearSeconds = request.ClearSeconds ?? 0,
                request.Severity,
                faultCode = request.FaultCode!.Trim(),
                request.TemplateId,
                request.InhibitsSite,
                createdBy = actor.UserId,
                now = clock.GetUtcNow().UtcDateTime,
            },
            cancellationToken: cancellationToken));
        return await connection.QuerySingleAsync<AlarmRuleView>(new CommandDefinition(Select + " WHERE r.id = @id", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>Switches a rule off: it judges no new events; its states and episodes stay as they were.</summary>
    public async Task<Outcome<AlarmRuleView>> DeactivateAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        if (ManageRefusal(actor) is { } refused)
        {
            return refused;
        }

        // A rule that does not exist is not written to: the warehouse's change log notes every statement that updates.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM alarm_rules WHERE id = @id)", new { id }, cancellationToken: cancellationToken)))
        {
            return Failure.NotFound("alarm.rule_not_found", id);
        }

        await connection.ExecuteAsync(new CommandDefinition("UPDATE alarm_rules SET active = false WHERE id = @id", new { id }, cancellationToken: cancellationToken));
        return await connection.QuerySingleAsync<AlarmRuleView>(new CommandDefinition(Select + " WHERE r.id = @id", new { id }, cancellationToken: cancellationToken));
    }
}
