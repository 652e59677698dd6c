using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Assignment;
using WorkOrders.Ticketing.Database;
using WorkOrders.Ticketing.Sla;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.WorkOrders;

public sealed record CreateWorkOrderRequest(
    long? TemplateId,
    string? Title,
    string? Description,
    int? Priority = null,
    string? Contact = null,
    long? AssetId = null,
    string? Reference = null,
    DateTime? DueAt = null,
    Dictionary<string, JsonElement>? CustomFields = null,
    string? DecommissionedReason = null);

public sealed record CreatedWorkOrder(long Id, string Number, bool Replayed);

/// <summary>Raising a work order: validated against its template, stored with its first history event in one transaction.</summary>
public sealed class CreateWorkOrder(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int MaxTitleLength = 200;
    public const int MaxDescriptionLength = 20_000;
    public const int MaxContactLength = 200;
    public const int MaxReferenceLength = 100;
    public const int MaxIdempotencyKeyLength = 200;
    public const int MaxDecommissionedReasonLength = 2000;

    // A due date outside these is a typing or conversion slip (year 1, the Unix epoch), never a plan.
    private static readonly DateTime EarliestDue = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime LatestDue = new(2099, 12, 31, 23, 59, 59, DateTimeKind.Utc);

    // What a create reads before it writes, in one round trip: the template, the asset the work is on (with its type and
    // lineage, which assignment rules match on), the assignment rules in use, and the SLA policy of the priority with the
    // calendar its clock counts in. From its
    // first statement on, the transaction may run the plans PostgreSQL keeps for its prepared statements (see
    // PostgresConnections): every statement of a create looks rows up by key, so a plan made once serves every create.
    // Three of them (template, asset, SLA policy) were planned afresh on every create before: 0.43 ms of PostgreSQL's time.
    private const string ReadBefore = $"""
        {PostgresConnections.KeptPlans};
        {Templates.Templates.SelectTemplates} WHERE t.id = @templateId;
        SELECT a.id, a.code, a.lifecycle, a.asset_type,
               ARRAY(WITH RECURSIVE up AS (
                       SELECT id, parent_id FROM assets WHERE id = a.id
                       UNION ALL
                       SELECT p.id, p.parent_id FROM assets p JOIN up ON p.id = up.parent_id)
                     SELECT id FROM up) AS lineage
        FROM assets a WHERE a.id = @assetId;
        {AssignmentRules.SelectRules} WHERE r.active ORDER BY r.position, r.id;
        {SlaClocks.FindPolicy};
        {SlaClocks.FindCalendar};
        """;

    // The work order with its created event, in one statement. The number is drawn inside the INSERT, after the
    // statement has taken ROW EXCLUSIVE on work_orders: a bulk writer taking a block of numbers under a stronger lock is
    // never interleaved (WorkOrderNumbers). nextval holds no lock until the commit, so creates do not wait for each other
    // here. The event's payload gets the number drawn. The row is written already assigned as decided (its history
    // still reads created, then assigned) and with its SLA due times, and its SLA clock in the same statement, so it is
    // written once instead of again by the assignment and the clock (each rewrite added an entry to every index).
    private const string Insert = $"""
        WITH w AS (
            INSERT INTO work_orders (number, template_id, work_type, title, description, priority, status, requester_id, contact,
                asset_id, department_id, assignee_id, assignment_rule_id, reference, due_at, created_at, custom_fields, source, updated_at,
                response_due_at, resolution_due_at)
            VALUES ({WorkOrderNumbers.Next}, @templateId, @workType, @title, @description, @priority, @status, @requesterId, @contact,
                @assetId, @departmentId, @assigneeId, @ruleId, @reference, @dueAt, @now, @customFields::jsonb, @source, @now,
                @responseDueAt, @resolutionDueAt)
            RETURNING id, number),
        clock AS (
            {SlaClocks.StartClock}),
        created AS (
            INSERT INTO work_order_events (work_order_id, occurred_at, actor_id, kind, from_status, to_status, note, payload)
            SELECT w.id, @now, @requesterId, @kind, NULL, @toStatus, @note, @payload::jsonb || jsonb_build_object('number', w.number)
            FROM w)
        SELECT id, number FROM w
        """;

    private const string ClaimKey = """
        INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES (@userId, @key, @hash)
        ON CONFLICT (user_id, key) DO NOTHING
        """;

    private const string FindByKey = """
        SELECT k.request_hash AS RequestHash, w.id AS Id, w.number AS Number
        FROM idempotency_keys k JOIN work_orders w ON w.id = k.work_order_id
        WHERE k.user_id = @userId AND k.key = @key
        """;

    public async Task<Outcome<CreatedWorkOrder>> HandleAsync(
        CreateWorkOrderRequest request,
        Actor actor,
        WorkOrderSource source,
        string? idempotencyKey,
        CancellationToken cancellationToken)
    {
        if (idempotencyKey is { Length: 0 or > MaxIdempotencyKeyLength })
        {
            return Failure.Invalid("Idempotency-Key", "idempotency_key.length", MaxIdempotencyKeyLength);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var hash = SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(request, TemplateSchema.Json));
        if (idempotencyKey is not null)
        {
            // A concurrent retry with the same key waits here on the primary key until the first commits.
            var claimed = await connection.ExecuteAsync(new CommandDefinition(
                ClaimKey, new { userId = actor.UserId, key = idempotencyKey, hash }, transaction, cancellationToken: cancellationToken));
            if (claimed == 0)
            {
                var earlier = await connection.QuerySingleOrDefaultAsync<KeyRow>(new CommandDefinition(
                    FindByKey, new { userId = actor.UserId, key = idempotencyKey }, transaction, cancellationToken: cancellationToken));
                if (earlier is not { } found)
                {
                    return Failure.Conflict("idempotency_key.in_progress");
                }

                return found.RequestHash.AsSpan().SequenceEqual(hash)
                    ? new CreatedWorkOrder(found.Id, found.Number, Replayed: true)
                    : Failure.Invalid("Idempotency-Key", "idempotency_key.reused");
            }
        }

        var created = await InsertAsync(connection, transaction, request, actor, source, idempotencyKey, cancellationToken);
        if (created.Succeeded)
        {
            await transaction.CommitAsync(cancellationToken);
        }

        return created;
    }

    /// <summary>
    /// Validates and stores a work order with its first history event inside the caller's transaction, for features
    /// that create work as part of a larger change (accepting a forecast proposal). The caller commits.
    /// </summary>
    internal async Task<Outcome<CreatedWorkOrder>> InsertAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        CreateWorkOrderRequest request,
        Actor actor,
        WorkOrderSource source,
        string? idempotencyKey,
        CancellationToken cancellationToken,
        object? origin = null)
    {
        Template? template;
        BeforeAsset? workedOn;
        List<AssignmentRule> rules;
        SlaClocks.PolicyRow? policy;
        SlaClocks.CalendarRow? calendar;
        await using (var read = await connection.QueryMultipleAsync(new CommandDefinition(
            ReadBefore, new { templateId = request.TemplateId, assetId = request.AssetId, priority = request.Priority }, transaction, cancellationToken: cancellationToken)))
        {
            template = (await read.ReadSingleOrDefaultAsync<Templates.Templates.TemplateRow>())?.ToTemplate();
            workedOn = await read.ReadSingleOrDefaultAsync<BeforeAsset>();
            rules = [.. (await read.ReadAsync<AssignmentRules.RuleRow>()).Select(r => r.ToRule())];
            policy = await read.ReadSingleOrDefaultAsync<SlaClocks.PolicyRow>();
            calendar = await read.ReadSingleOrDefaultAsync<SlaClocks.CalendarRow>();
        }

        var errors = new FieldErrors();
        var values = Validate(request, template, errors);
        await CheckAssetsAsync(connection, transaction, request, workedOn, values.AssetReferences, errors, cancellationToken);
        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await WorkOrderNumbers.EnsureYearAsync(dataSource, now.Year, cancellationToken);
        var priority = request.Priority ?? template!.DefaultPriority;
        var title = request.Title!.Trim();

        // Work on a decommissioned asset keeps its reason in the history: the note of the event and its payload.
        var decommissionedReason = NullIfBlank(request.DecommissionedReason);
        object payload = decommissionedReason is null
            ? new { template = template!.Name, priority, source = WireNames.Of(source) }
            : new { template = template!.Name, priority, source = WireNames.Of(source), decommissionedReason };
        if (origin is not null)
        {
            // Raised on a field device: the history keeps the device and its clock beside the sync time.
            var withOrigin = JsonSerializer.SerializeToNode(payload, TemplateSchema.Json)!.AsObject();
            withOrigin["via"] = JsonSerializer.SerializeToNode(origin, TemplateSchema.Json);
            payload = withOrigin;
        }

        var customFields = JsonSerializer.Serialize(values.Values, TemplateSchema.Json);
        var placement = await AutoAssign.DecideAsync(
            dataSource,
            connection,
            transaction,
            new AutoAssign.NewWorkOrder(
                template.Id, template.WorkType, priority, template.DepartmentId, workedOn?.AssetType, workedOn?.Lineage ?? [],
                JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(customFields, TemplateSchema.Json) ?? []),
            rules,
            now,
            cancellationToken);
        var slaClock = SlaClocks.Start(policy, calendar, now);
        var (id, number) = await connection.QuerySingleAsync<(long, string)>(new CommandDefinition(
            Insert,
            new
            {
                year = now.Year,
                templateId = template.Id,
                workType = WireNames.Of(template.WorkType),
                title,
                description = request.Description!.Trim(),
                priority,
                status = WireNames.Of(placement.Status),
                requesterId = actor.UserId,
                contact = NullIfBlank(request.Contact),
                assetId = request.AssetId,
                departmentId = placement.DepartmentId,
                assigneeId = placement.Decision.AssigneeId,
                ruleId = placement.Decision.RuleId,
                reference = NullIfBlank(request.Reference),
                dueAt = request.DueAt?.ToUniversalTime(),
                now,
                customFields,
                source = WireNames.Of(source),
                kind = EventKinds.Created,
                toStatus = WireNames.Of(WorkOrderStatus.New),
                note = decommissionedReason,
                payload = JsonSerializer.Serialize(payload, TemplateSchema.Json),
                policyId = slaClock?.PolicyId,
                calendarId = slaClock?.CalendarId,
                responseMinutes = slaClock?.ResponseMinutes,
                resolutionMinutes = slaClock?.ResolutionMinutes,
                warningPercent = slaClock?.WarningPercent,
                responseWarnAt = slaClock?.ResponseWarnAt,
                responseDueAt = slaClock?.ResponseDueAt,
                resolutionWarnAt = slaClock?.ResolutionWarnAt,
                resolutionDueAt = slaClock?.ResolutionDueAt,
            },
            transaction,
            cancellationToken: cancellationToken));
        await AutoAssign.RecordAsync(connection, transaction, id, number, title, placement, now, cancellationToken);
        if (idempotencyKey is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE idempotency_keys SET work_order_id = @id WHERE user_id = @userId AND key = @key",
                new { id, userId = actor.UserId, key = idempotencyKey },
                transaction,
                cancellationToken: cancellationToken));
        }

        return new CreatedWorkOrder(id, number, Replayed: false);
    }

    /// <summary>Every rule on the request that needs no database beyond its template.</summary>
    public static (Dictionary<string, object> Values, List<(string Field, long AssetId)> AssetReferences) Validate(
        CreateWorkOrderRequest request, Template? template, FieldErrors errors)
    {
        if (request.TemplateId is null)
        {
            errors.Add("templateId", "field.required");
        }
        else if (template is null || !template.Active)
        {
            errors.Add("templateId", "template.unusable", request.TemplateId);
        }

        var title = request.Title?.Trim();
        if (string.IsNullOrEmpty(title))
        {
            errors.Add("title", "field.required");
        }
        else if (title.Length > MaxTitleLength)
        {
            errors.Add("title", "field.too_long_has", MaxTitleLength, title.Length);
        }

        var description = request.Description?.Trim();
        if (string.IsNullOrEmpty(description))
        {
            errors.Add("description", "field.required");
        }
        else if (description.Length > MaxDescriptionLength)
        {
            errors.Add("description", "field.too_long_has", MaxDescriptionLength, description.Length);
        }

        if (request.Priority is { } priority && priority is < 1 or > 4)
        {
            errors.Add("priority", "field.priority");
        }

        if (request.Contact is { Length: > MaxContactLength })
        {
            errors.Add("contact", "field.too_long", MaxContactLength);
        }
        else if (template is { ContactRequired: true } && string.IsNullOrWhiteSpace(request.Contact))
        {
            errors.Add("contact", "field.required_by_template");
        }

        if (request.Reference is { Length: > MaxReferenceLength })
        {
            errors.Add("reference", "field.too_long", MaxReferenceLength);
        }

        if (request.DueAt is { } dueAt && (dueAt.ToUniversalTime() < EarliestDue || dueAt.ToUniversalTime() > LatestDue))
        {
            errors.Add("dueAt", "field.from_to", EarliestDue.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), LatestDue.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        if (template is { AssetRequired: true } && request.AssetId is null)
        {
            errors.Add("assetId", "field.required_by_template");
        }

        return template is null
            ? (new Dictionary<string, object>(), [])
            : TemplateSchema.ValidateValues(template.Fields, request.CustomFields, errors);
    }

    private static async Task CheckAssetsAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        CreateWorkOrderRequest request,
        BeforeAsset? readBefore,
        List<(string Field, long AssetId)> references,
        FieldErrors errors,
        CancellationToken cancellationToken)
    {
        if (request.AssetId is { } assetId)
        {
            references.Insert(0, ("assetId", assetId));
        }

        if (references.Count == 0)
        {
            return;
        }

        // The asset the work is on was read before; other assets named by custom fields are read here.
        var known = new Dictionary<long, (long Id, string Code, string Lifecycle)>();
        if (readBefore is not null)
        {
            known[readBefore.Id] = (readBefore.Id, readBefore.Code, readBefore.Lifecycle);
        }

        var ids = references.Select(r => r.AssetId).Where(id => !known.ContainsKey(id)).Distinct().ToArray();
        if (ids.Length > 0)
        {
            foreach (var row in await connection.QueryAsync<(long Id, string Code, string Lifecycle)>(new CommandDefinition(
                "SELECT id, code, lifecycle FROM assets WHERE id = ANY(@ids)", new { ids }, transaction, cancellationToken: cancellationToken)))
            {
                known[row.Id] = row;
            }
        }
        foreach (var (field, id) in references.Where(r => !known.ContainsKey(r.AssetId)))
        {
            errors.Add(field, "asset.missing", id);
        }

        // The asset the work is on: a disposed one takes none, a decommissioned one only with a reason.
        if (request.AssetId is { } workedOn && known.TryGetValue(workedOn, out var asset))
        {
            var state = WireNames.Parse<AssetState>(asset.Lifecycle);
            if (!AssetLifecycle.TakesWork(state))
            {
                errors.Add("assetId", "asset.disposed_no_work", asset.Code);
            }
            else if (AssetLifecycle.WorkNeedsReason(state) && string.IsNullOrWhiteSpace(request.DecommissionedReason))
            {
                errors.Add("decommissionedReason", "asset.decommissioned_reason", asset.Code);
            }
        }

        if (request.DecommissionedReason is { Length: > MaxDecommissionedReasonLength })
        {
            errors.Add("decommissionedReason", "field.too_long", MaxDecommissionedReasonLength);
        }
    }

    /// <summary>The asset a create's work is on, as read before the insert.</summary>
    private sealed class BeforeAsset
    {
        public long Id { get; init; }
        public string Code { get; init; } = "";
        public string Lifecycle { get; init; } = "";
        public string? AssetType { get; init; }
        public long[] Lineage { get; init; } = [];
    }

    private sealed class KeyRow
    {
        public byte[] RequestHash { get; init; } = [];
        public long Id { get; init; }
        public string Number { get; init; } = "";
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
