using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Inspections;

/// <summary>What a failed result is, as the finding carries it to a work order.</summary>
internal sealed record FindingFacts(
    long ResultId,
    long RoundId,
    long AssetId,
    string AssetCode,
    string AssetName,
    long CheckId,
    CheckItem Item,
    decimal? Number,
    string? Text,
    Judgement Judgement,
    byte[]? PhotoSha256,
    string? Note);

/// <summary>
/// Raises a finding inside the transaction that recorded its result. Findings of one asset and check go to one open work
/// order: the row of inspection_finding_targets for (asset, check) is locked first, so two findings at once are taken one
/// after the other and the second finds the first one's work order. A work order still open (not resolved, closed or
/// cancelled) gets the finding as a 'finding' event in its history and one more occurrence; otherwise a new corrective
/// work order is made through the work-order core (source inspection), with the reading, the limit, the photo copied by
/// its SHA-256 and a link to the round.
/// </summary>
internal static class Findings
{
    private const string LockTarget = """
        INSERT INTO inspection_finding_targets (asset_id, check_id) VALUES (@assetId, @checkId) ON CONFLICT DO NOTHING;
        SELECT t.work_order_id AS WorkOrderId, t.occurrences AS Occurrences, w.status AS Status
        FROM inspection_finding_targets t LEFT JOIN work_orders w ON w.id = t.work_order_id
        WHERE t.asset_id = @assetId AND t.check_id = @checkId
        FOR UPDATE OF t;
        """;

    private const string CopyPhoto = """
        INSERT INTO attachments (work_order_id, file_name, content_type, size_bytes, sha256, content, uploaded_by, uploaded_at)
        SELECT @workOrderId, p.file_name, p.content_type, p.size_bytes, p.sha256, p.content, @actorId, @now
        FROM inspection_photos p
        WHERE p.sha256 = @sha AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.work_order_id = @workOrderId AND a.sha256 = @sha)
        RETURNING id
        """;

    public static async Task RaiseAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, CreateWorkOrder create, FindingFacts facts, Actor actor, DateTime now, CancellationToken cancellationToken)
    {
        var target = await connection.QuerySingleAsync<TargetRow>(new CommandDefinition(
            LockTarget, new { assetId = facts.AssetId, checkId = facts.CheckId }, transaction, cancellationToken: cancellationToken));
        var reading = InspectionRules.Describe(facts.Number, facts.Text, facts.Item.Unit);
        var limit = facts.Judgement.LimitValue is { } l ? InspectionRules.Describe(l, null, facts.Item.Unit) : null;
        var photo = facts.PhotoSha256 is { } sha ? Convert.ToHexStringLower(sha) : null;
        var link = $"/inspections/rounds/{facts.RoundId}";
        var open = target.WorkOrderId is not null && target.Status is not ("resolved" or "closed" or "cancelled");
        long? workOrderId;
        string? refusal = null;
        int occurrence;
        if (open)
        {
            workOrderId = target.WorkOrderId!.Value;
            occurrence = target.Occurrences + 1;
        }
        else
        {
            occurrence = 1;
            var description =
                $"Inspection finding on {facts.AssetCode} {facts.AssetName}: '{facts.Item.Label}' read {reading}"
                + (limit is null ? "" : $", beyond its limit {facts.Judgement.LimitName} {limit}")
                + $".\nRound: {link}"
                + (facts.Item.FaultCode is null ? "" : $"\nFault code: {facts.Item.FaultCode}")
                + (photo is null ? "" : $"\nPhoto SHA-256: {photo}")
                + (string.IsNullOrWhiteSpace(facts.Note) ? "" : $"\nNote: {facts.Note.Trim()}");
            var request = new CreateWorkOrderRequest(
                facts.Item.FindingTemplateId,
                Truncate($"{facts.Item.Label} · {facts.AssetCode} {facts.AssetName}", CreateWorkOrder.MaxTitleLength),
                description,
                Priority: InspectionRules.PriorityOf(facts.Item.Severity),
                AssetId: facts.AssetId,
                Reference: $"inspection-round-{facts.RoundId}",
                CustomFields: await FaultCodeFieldAsync(connection, transaction, facts, cancellationToken));
            var made = await create.InsertAsync(connection, transaction, request, actor, WorkOrderSource.Inspection, null, cancellationToken);
            if (made.Failure is { } failure)
            {
                // The template now asks for something a finding cannot give: the finding is kept with the reason, for the
                // route's owner to see, instead of losing the result.
                workOrderId = null;
                refusal = Truncate(failure.Message, 2000);
            }
            else
            {
                workOrderId = made.Value!.Id;
            }
        }

        if (workOrderId is { } id)
        {
            long? attachmentId = null;
            if (facts.PhotoSha256 is { } bytes)
            {
                attachmentId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                    CopyPhoto, new { workOrderId = id, actorId = actor.UserId, now, sha = bytes }, transaction, cancellationToken: cancellationToken));
            }

            await History.AppendAsync(
                connection, transaction, id, now, actor.UserId, EventKinds.Finding, null, null,
                $"{facts.Item.Label}: {reading}" + (limit is null ? "" : $" (limit {facts.Judgement.LimitName} {limit})"),
                new
                {
                    roundId = facts.RoundId,
                    resultId = facts.ResultId,
                    checkId = facts.CheckId,
                    item = facts.Item.Label,
                    reading = facts.Number,
                    text = facts.Text,
                    unit = facts.Item.Unit,
                    verdict = WireNames.Of(facts.Judgement.Verdict),
                    limitName = facts.Judgement.LimitName,
                    limitValue = facts.Judgement.LimitValue,
                    faultCode = facts.Item.FaultCode,
                    photoSha256 = photo,
                    attachmentId,
                    occurrence,
                    link,
                },
                cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE inspection_finding_targets SET work_order_id = @id, occurrences = @occurrence WHERE asset_id = @assetId AND check_id = @checkId",
                new { id, occurrence, assetId = facts.AssetId, checkId = facts.CheckId },
                transaction,
                cancellationToken: cancellationToken));
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO inspection_findings (result_id, round_id, asset_id, check_id, work_order_id, created_work_order, occurrence, refusal, raised_at)
            VALUES (@resultId, @roundId, @assetId, @checkId, @workOrderId, @created, @occurrence, @refusal, @now)
            """,
            new
            {
                resultId = facts.ResultId, roundId = facts.RoundId, assetId = facts.AssetId, checkId = facts.CheckId, workOrderId,
                created = !open && workOrderId is not null, occurrence, refusal, now,
            },
            transaction,
            cancellationToken: cancellationToken));
    }

    /// <summary>The item's fault code as a custom field, when the finding's template has a field named fault_code.</summary>
    private static async Task<Dictionary<string, JsonElement>?> FaultCodeFieldAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, FindingFacts facts, CancellationToken cancellationToken)
    {
        if (facts.Item.FaultCode is not { } code || facts.Item.FindingTemplateId is not { } templateId)
        {
            return null;
        }

        var template = await Templates.Templates.FindAsync(connection, transaction, templateId, cancellationToken);
        return template?.Fields.Any(f => string.Equals(f.Key, "fault_code", StringComparison.Ordinal)) == true
            ? new Dictionary<string, JsonElement> { ["fault_code"] = JsonSerializer.SerializeToElement(code) }
            : null;
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    private sealed class TargetRow
    {
        public long? WorkOrderId { get; init; }
        public int Occurrences { get; init; }
        public string? Status { get; init; }
    }
}
