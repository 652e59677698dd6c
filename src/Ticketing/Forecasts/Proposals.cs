using System.Globalization;
using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Forecasts;

/// <summary>What scoring found for one asset and fault mode (null: any mode), to be proposed when it passes the threshold.</summary>
public sealed record ProposalCandidate(
    long AssetId,
    string? FaultCode,
    double Probability,
    DateTime WindowStart,
    DateTime WindowEnd,
    IReadOnlyList<string> Reasons,
    long? TemplateId,
    double? EstimatedHours,
    string EvidenceKey,
    string ModelVersion);

public sealed record PublishResult(int Created, int Updated, int Covered, int DismissedBefore, int Expired);

public sealed record Proposal(
    long Id,
    long AssetId,
    string AssetCode,
    string AssetName,
    string? AssetType,
    int Criticality,
    string? FaultCode,
    double Probability,
    double Risk,
    DateTime WindowStart,
    DateTime WindowEnd,
    IReadOnlyList<string> Reasons,
    long? TemplateId,
    string? TemplateName,
    double? EstimatedHours,
    string Status,
    DateTime CreatedAt,
    DateTime ExpiresAt,
    long? WorkOrderId,
    string? WorkOrderNumber,
    string? DismissReason,
    string? DismissNote,
    string ModelVersion);

public sealed record ProposalPage(IReadOnlyList<Proposal> Items, int Total);

/// <summary>Which proposals to list; risk is probability × asset criticality (1-5).</summary>
public sealed record ProposalQuery(string? Status = "open", double? MinProbability = null, string? AssetType = null, string? FaultCode = null, int Skip = 0, int Take = 50);

public sealed record DismissRequest(string? Reason, string? Note);

public sealed record AcceptedProposal(long ProposalId, long WorkOrderId, string Number);

public sealed record BulkAcceptRequest(long[]? Ids);

public sealed record BulkAcceptItem(long ProposalId, long? WorkOrderId, string? Number, Refusal? Refused);

public sealed record ThresholdRequest(double? Threshold);

/// <summary>
/// What became of the proposals, for the backtest: decisions, and whether a failure of the asset and mode followed within
/// the proposal's window (known once the window has passed): an accepted proposal with no failure after it may have
/// prevented one; a dismissed one followed by a failure was a miss.
/// </summary>
public sealed record ProposalFeedback(
    long Open, long Accepted, long Dismissed, long Expired, long AcceptedWindowPassed, long AcceptedNoFailure, long AcceptedFailedAnyway, long DismissedThenFailed);

/// <summary>
/// Forecast proposals in PostgreSQL: publishing what scoring found, and the planner's accept (a real preventive work
/// order through the work-order core, source forecast, in the same transaction) or dismiss with a reason.
/// </summary>
public sealed class Proposals(NpgsqlDataSource dataSource, CreateWorkOrder create, TimeProvider clock)
{
    public static IReadOnlyList<string> DismissReasons { get; } = ["already_planned", "not_credible", "asset_out_of_service", "no_capacity", "other"];

    public const int MaxNoteLength = 2000;

    /// <summary>How long a proposal stays open without being proposed again.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(14);

    // Named as the Row record's parameters, so the mapping needs no global naming setting.
    private const string Columns = """
        p.id AS Id, p.asset_id AS AssetId, a.code AS AssetCode, a.name AS AssetName, a.asset_type AS AssetType, a.criticality AS Criticality,
        p.fault_code AS FaultCode, p.probability AS Probability, p.probability * a.criticality AS Risk, p.window_start AS WindowStart,
        p.window_end AS WindowEnd, p.reasons::text AS ReasonsJson, p.template_id AS TemplateId, t.name AS TemplateName,
        p.estimated_hours AS EstimatedHours, p.status AS Status, p.created_at AS CreatedAt, p.expires_at AS ExpiresAt,
        p.work_order_id AS WorkOrderId, w.number AS WorkOrderNumber, p.dismiss_reason AS DismissReason, p.dismiss_note AS DismissNote,
        p.model_version AS ModelVersion
        FROM forecast_proposals p
        JOIN assets a ON a.id = p.asset_id
        LEFT JOIN templates t ON t.id = p.template_id
        LEFT JOIN work_orders w ON w.id = p.work_order_id
        """;

    private const string ExpireOld = "UPDATE forecast_proposals SET status = 'expired', updated_at = @now WHERE status = 'open' AND expires_at <= @now";

    // Open corrective work for the same mode, or any open preventive work, already covers the asset.
    private const string Covered = """
        SELECT EXISTS (SELECT 1 FROM work_orders w
                       WHERE w.asset_id = @assetId AND w.status NOT IN ('resolved', 'closed', 'cancelled')
                         AND (w.work_type = 'preventive'
                              OR (w.work_type = 'corrective' AND (@faultCode::text IS NULL OR w.custom_fields->>'fault_code' = @faultCode))))
        """;

    private const string DismissedForEvidence = """
        SELECT EXISTS (SELECT 1 FROM forecast_proposals
                       WHERE status = 'dismissed' AND asset_id = @assetId AND coalesce(fault_code, '') = coalesce(@faultCode, '') AND evidence_key = @evidenceKey)
        """;

    private const string Upsert = """
        INSERT INTO forecast_proposals (asset_id, fault_code, probability, window_start, window_end, reasons, template_id, estimated_hours,
                                        evidence_key, model_version, created_at, updated_at, expires_at)
        VALUES (@assetId, @faultCode, @probability, @windowStart, @windowEnd, @reasons::jsonb, @templateId, @estimatedHours,
                @evidenceKey, @modelVersion, @now, @now, @expiresAt)
        ON CONFLICT (asset_id, coalesce(fault_code, '')) WHERE status = 'open' DO UPDATE
        SET probability = excluded.probability, window_start = excluded.window_start, window_end = excluded.window_end, reasons = excluded.reasons,
            template_id = excluded.template_id, estimated_hours = excluded.estimated_hours, evidence_key = excluded.evidence_key,
            model_version = excluded.model_version, updated_at = excluded.updated_at, expires_at = excluded.expires_at,
            row_version = forecast_proposals.row_version + 1
        RETURNING (xmax = 0) AS inserted
        """;

    /// <summary>
    /// Publishes one scoring run: candidates at or above the threshold become open proposals (an open one for the same
    /// asset and mode is refreshed), unless open work already covers them or a planner dismissed the same evidence;
    /// open proposals that this run no longer supports expire. One transaction.
    /// </summary>
    public Task<PublishResult> PublishAsync(IReadOnlyList<ProposalCandidate> candidates, CancellationToken cancellationToken) =>
        PublishAsync(candidates, applyThreshold: true, cancellationToken);

    /// <summary>
    /// Publishes one run as above; with <paramref name="applyThreshold"/> false every candidate is proposed: a heuristic
    /// that won the backtest proposes a fixed share of the assets and has no probabilities to cut.
    /// </summary>
    public async Task<PublishResult> PublishAsync(IReadOnlyList<ProposalCandidate> candidates, bool applyThreshold, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var threshold = await connection.ExecuteScalarAsync<double>(new CommandDefinition(
            "SELECT threshold FROM forecast_settings WHERE id = 1 FOR UPDATE", transaction: transaction, cancellationToken: cancellationToken));
        var expired = await connection.ExecuteAsync(new CommandDefinition(ExpireOld, new { now }, transaction, cancellationToken: cancellationToken));
        int created = 0, updated = 0, covered = 0, dismissed = 0;
        var kept = new List<(long AssetId, string Mode)>();
        foreach (var candidate in candidates.Where(c => !applyThreshold || c.Probability >= threshold))
        {
            var key = new { assetId = candidate.AssetId, faultCode = candidate.FaultCode, evidenceKey = candidate.EvidenceKey };
            if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(Covered, key, transaction, cancellationToken: cancellationToken)))
            {
                covered++;
                continue;
            }

            if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(DismissedForEvidence, key, transaction, cancellationToken: cancellationToken)))
            {
                dismissed++;
                continue;
            }

            var inserted = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                Upsert,
                new
                {
                    assetId = candidate.AssetId,
                    faultCode = candidate.FaultCode,
                    probability = candidate.Probability,
                    windowStart = candidate.WindowStart,
                    windowEnd = candidate.WindowEnd,
                    reasons = JsonSerializer.Serialize(candidate.Reasons),
                    templateId = candidate.TemplateId,
                    estimatedHours = candidate.EstimatedHours,
                    evidenceKey = candidate.EvidenceKey,
                    modelVersion = candidate.ModelVersion,
                    now,
                    expiresAt = now + Lifetime,
                },
                transaction,
                cancellationToken: cancellationToken));
            _ = inserted ? created++ : updated++;
            kept.Add((candidate.AssetId, candidate.FaultCode ?? ""));
        }

        // Open proposals this run does not support any more (risk fell, or work now covers them) expire.
        expired += await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE forecast_proposals SET status = 'expired', updated_at = @now
            WHERE status = 'open' AND NOT ((asset_id, coalesce(fault_code, '')) IN (SELECT * FROM unnest(@assets, @modes)))
            """,
            new { now, assets = kept.Select(k => k.AssetId).ToArray(), modes = kept.Select(k => k.Mode).ToArray() },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return new PublishResult(created, updated, covered, dismissed, expired);
    }

    public async Task<Outcome<ProposalPage>> ListAsync(ProposalQuery query, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (query.Status is not (null or "open" or "accepted" or "dismissed" or "expired"))
        {
            errors.Add("status", "proposal.status");
        }

        if (query.MinProbability is < 0 or > 1)
        {
            errors.Add("minProbability", "field.from_to", 0, 1);
        }

        if (query.Take is < 1 or > 500 || query.Skip < 0)
        {
            errors.Add("take", "proposal.paging");
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        const string Where = """
            WHERE (@status::text IS NULL OR p.status = @status) AND (@minProbability::float8 IS NULL OR p.probability >= @minProbability)
              AND (@assetType::text IS NULL OR a.asset_type = @assetType) AND (@faultCode::text IS NULL OR p.fault_code = @faultCode)
            """;
        var parameters = new { status = query.Status, minProbability = query.MinProbability, assetType = query.AssetType, faultCode = query.FaultCode, skip = query.Skip, take = query.Take };
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var total = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"SELECT count(*) FROM forecast_proposals p JOIN assets a ON a.id = p.asset_id {Where}", parameters, cancellationToken: cancellationToken));
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} {Where} ORDER BY risk DESC, p.probability DESC, p.id LIMIT @take OFFSET @skip", parameters, cancellationToken: cancellationToken));
        return new ProposalPage([.. rows.Select(r => r.ToProposal())], total);
    }

    public async Task<Proposal?> FindAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition($"SELECT {Columns} WHERE p.id = @id", new { id }, cancellationToken: cancellationToken));
        return row?.ToProposal();
    }

    /// <summary>
    /// Creates the preventive work order and marks the proposal accepted in one transaction; the proposal row is locked
    /// first, so a second click (or a second planner) finds it accepted and gets a conflict, never a second work order.
    /// </summary>
    public async Task<Outcome<AcceptedProposal>> AcceptAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        if (!CanDecide(actor))
        {
            return Failure.Forbidden("proposal.accept_not_allowed");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var proposal = await LockAsync(connection, transaction, id, now, cancellationToken);
        if (proposal.Failure is { } refusal)
        {
            await transaction.CommitAsync(cancellationToken);
            return refusal;
        }

        var p = proposal.Value!;
        if (p.TemplateId is null)
        {
            return Failure.Invalid("templateId", "proposal.no_template", id);
        }

        // The template's own fields (an interval, a checklist) as the last work from that template had them, on this asset first.
        var lastFields = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            """
            SELECT custom_fields::text FROM work_orders WHERE template_id = @templateId
            ORDER BY (asset_id = @assetId) DESC, created_at DESC LIMIT 1
            """,
            new { templateId = p.TemplateId, assetId = p.AssetId },
            transaction,
            cancellationToken: cancellationToken));
        var mode = p.FaultCode is null ? "" : $" ({p.FaultCode})";
        var request = new CreateWorkOrderRequest(
            p.TemplateId,
            Truncate($"Preventive: {p.AssetCode} {p.AssetName}{mode}", CreateWorkOrder.MaxTitleLength),
            $"Proposed by the failure-risk forecast (model {p.ModelVersion}): {p.Probability:P0} chance of a failure between "
            + $"{p.WindowStart:yyyy-MM-dd} and {p.WindowEnd:yyyy-MM-dd}.\n"
            + string.Join("\n", p.Reasons.Select(r => "- " + r))
            + (p.EstimatedHours is { } hours ? $"\nEstimated work: {hours.ToString("0.#", CultureInfo.InvariantCulture)} h." : ""),
            AssetId: p.AssetId,
            Reference: $"forecast-proposal-{id}",
            DueAt: p.WindowStart > now ? p.WindowStart : now.AddDays(7),
            CustomFields: lastFields is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(lastFields));
        var created = await create.InsertAsync(connection, transaction, request, actor, WorkOrderSource.Forecast, null, cancellationToken);
        if (created.Failure is { } failure)
        {
            return failure;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE forecast_proposals SET status = 'accepted', work_order_id = @workOrderId, decided_at = @now, decided_by = @me, updated_at = @now,
                   row_version = row_version + 1
            WHERE id = @id
            """,
            new { id, workOrderId = created.Value!.Id, now, me = actor.UserId },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return new AcceptedProposal(id, created.Value.Id, created.Value.Number);
    }

    /// <summary>Accepts each proposal in its own transaction, so one refusal does not undo the others.</summary>
    public async Task<Outcome<IReadOnlyList<BulkAcceptItem>>> AcceptManyAsync(BulkAcceptRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (request.Ids is not { Length: > 0 and <= 200 } ids)
        {
            return Failure.Invalid("ids", "proposal.ids");
        }

        var results = new List<BulkAcceptItem>();
        foreach (var id in ids.Distinct())
        {
            var outcome = await AcceptAsync(id, actor, cancellationToken);
            results.Add(outcome.Value is { } accepted
                ? new BulkAcceptItem(id, accepted.WorkOrderId, accepted.Number, null)
                : new BulkAcceptItem(id, null, null, outcome.Failure!.Main));
        }

        return results;
    }

    public async Task<Outcome<Proposal>> DismissAsync(long id, DismissRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (DismissRefusal(actor) is { } refused)
        {
            return refused;
        }

        var errors = new FieldErrors();
        if (request.Reason is null || !DismissReasons.Contains(request.Reason))
        {
            errors.Add("reason", "field.one_of", string.Join(", ", DismissReasons));
        }

        var note = string.IsNullOrWhiteSpace(request.Note) ? null : request.Note.Trim();
        if (note is { Length: > MaxNoteLength })
        {
            errors.Add("note", "field.too_long", MaxNoteLength);
        }
        else if (request.Reason == "other" && note is null)
        {
            errors.Add("note", "proposal.note_for_other");
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var proposal = await LockAsync(connection, transaction, id, now, cancellationToken);
        if (proposal.Failure is { } refusal)
        {
            await transaction.CommitAsync(cancellationToken);
            return refusal;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE forecast_proposals SET status = 'dismissed', dismiss_reason = @reason, dismiss_note = @note, decided_at = @now, decided_by = @me,
                   updated_at = @now, row_version = row_version + 1
            WHERE id = @id
            """,
            new { id, reason = request.Reason, note, now, me = actor.UserId },
            transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return (await FindAsync(id, cancellationToken))!;
    }

    public async Task<ProposalFeedback> FeedbackAsync(CancellationToken cancellationToken)
    {
        const string Sql = """
            WITH decided AS (
                SELECT p.*, EXISTS (
                    SELECT 1 FROM work_orders w
                    WHERE w.asset_id = p.asset_id AND w.work_type = 'corrective' AND w.status <> 'cancelled'
                      AND (p.fault_code IS NULL OR w.custom_fields->>'fault_code' = p.fault_code)
                      AND w.created_at >= coalesce(p.decided_at, p.created_at) AND w.created_at < p.window_end) AS failed
                FROM forecast_proposals p)
            SELECT count(*) FILTER (WHERE status = 'open') AS Open,
                   count(*) FILTER (WHERE status = 'accepted') AS Accepted,
                   count(*) FILTER (WHERE status = 'dismissed') AS Dismissed,
                   count(*) FILTER (WHERE status = 'expired') AS Expired,
                   count(*) FILTER (WHERE status = 'accepted' AND window_end < @now) AS AcceptedWindowPassed,
                   count(*) FILTER (WHERE status = 'accepted' AND window_end < @now AND NOT failed) AS AcceptedNoFailure,
                   count(*) FILTER (WHERE status = 'accepted' AND failed) AS AcceptedFailedAnyway,
                   count(*) FILTER (WHERE status = 'dismissed' AND failed) AS DismissedThenFailed
            FROM decided
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<ProposalFeedback>(new CommandDefinition(
            Sql, new { now = clock.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken));
    }

    public async Task<double> ThresholdAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<double>(new CommandDefinition("SELECT threshold FROM forecast_settings WHERE id = 1", cancellationToken: cancellationToken));
    }

    public async Task<Outcome<double>> SetThresholdAsync(ThresholdRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (ThresholdRefusal(actor) is { } refused)
        {
            return refused;
        }

        if (request.Threshold is not (> 0 and < 1) || double.IsNaN(request.Threshold.Value))
        {
            return Failure.Invalid("threshold", "proposal.threshold");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE forecast_settings SET threshold = @threshold, updated_at = @now, updated_by = @me WHERE id = 1",
            new { threshold = request.Threshold, now = clock.GetUtcNow().UtcDateTime, me = actor.UserId },
            cancellationToken: cancellationToken));
        return request.Threshold.Value;
    }

    private static bool CanDecide(Actor actor) => actor.Role is Role.Planner or Role.Admin;

    /// <summary>The refusal of dismissing a proposal to a role that may not decide on proposals; also the endpoint's <c>AccessFirst</c> check.</summary>
    public static Failure? DismissRefusal(Actor actor) => CanDecide(actor) ? null : Failure.Forbidden("proposal.dismiss_not_allowed");

    /// <summary>The refusal of setting the threshold to a role that may not decide on proposals; also the endpoint's <c>AccessFirst</c> check.</summary>
    public static Failure? ThresholdRefusal(Actor actor) => CanDecide(actor) ? null : Failure.Forbidden("proposal.threshold_not_allowed");

    // Locks the proposal; refuses one that is missing, decided, or past its time (marking that one expired).
    private static async Task<Outcome<Proposal>> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long id, DateTime now, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} WHERE p.id = @id FOR UPDATE OF p", new { id }, transaction, cancellationToken: cancellationToken));
        if (row is null)
        {
            return Failure.NotFound("proposal.not_found", id);
        }

        if (row.Status == "open" && row.ExpiresAt <= now)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE forecast_proposals SET status = 'expired', updated_at = @now WHERE id = @id", new { id, now }, transaction, cancellationToken: cancellationToken));
            return Failure.Conflict("proposal.expired_on", id, row.ExpiresAt);
        }

        return row.Status switch
        {
            "open" => row.ToProposal(),
            "accepted" => Failure.Conflict("proposal.accepted", id, row.WorkOrderNumber),
            "dismissed" => Failure.Conflict("proposal.dismissed", id, row.DismissReason),
            _ => Failure.Conflict("proposal.expired", id),
        };
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    private sealed record Row(
        long Id,
        long AssetId,
        string AssetCode,
        string AssetName,
        string? AssetType,
        short Criticality,
        string? FaultCode,
        double Probability,
        double Risk,
        DateTime WindowStart,
        DateTime WindowEnd,
        string ReasonsJson,
        long? TemplateId,
        string? TemplateName,
        double? EstimatedHours,
        string Status,
        DateTime CreatedAt,
        DateTime ExpiresAt,
        long? WorkOrderId,
        string? WorkOrderNumber,
        string? DismissReason,
        string? DismissNote,
        string ModelVersion)
    {
        public Proposal ToProposal() => new(
            Id, AssetId, AssetCode, AssetName, AssetType, Criticality, FaultCode, Probability, Risk, WindowStart, WindowEnd,
            JsonSerializer.Deserialize<string[]>(ReasonsJson) ?? [], TemplateId, TemplateName, EstimatedHours, Status, CreatedAt, ExpiresAt,
            WorkOrderId, WorkOrderNumber, DismissReason, DismissNote, ModelVersion);
    }
}
