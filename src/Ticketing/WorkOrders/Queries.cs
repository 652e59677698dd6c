using System.Text;
using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ticketing.WorkOrders;

public sealed record WorkOrderQuery(
    IReadOnlyList<WorkOrderStatus>? Statuses = null,
    long? AssigneeId = null,
    long? DepartmentId = null,
    long? AssetId = null,
    long? RequesterId = null,
    string? Text = null,
    int Skip = 0,
    int Take = 25,
    string? OrderBy = null,
    bool Descending = true);

public sealed record Page<T>(IReadOnlyList<T> Items, long Total);

/// <summary>Reading work orders: one with its whole history, or a page of a filtered, sorted list.</summary>
public sealed class WorkOrderQueries(NpgsqlDataSource dataSource)
{
    public const int MaxTake = 200;

    /// <summary>The columns a list may be sorted by; anything else is refused, never spliced into SQL.</summary>
    public static IReadOnlyDictionary<string, string> SortColumns { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["number"] = "w.id",
        ["createdAt"] = "w.created_at",
        ["updatedAt"] = "w.updated_at",
        ["priority"] = "w.priority",
        ["status"] = "w.status",
        ["title"] = "w.title",
        ["dueAt"] = "w.due_at",
    };

    private const string SelectDetail = $"""
        SELECT w.id, w.number, w.template_id, t.name AS template_name, w.work_type, w.title, w.description, w.priority, w.status,
               w.requester_id, r.display_name AS requester_name, w.contact, w.asset_id, a.code AS asset_code, a.name AS asset_name,
               w.department_id, d.name AS department_name, w.assignee_id, u.display_name AS assignee_name, w.reference,
               w.due_at, w.response_due_at, w.resolution_due_at, w.created_at, w.acknowledged_at, w.started_at, w.resolved_at,
               w.closed_at, w.custom_fields::text AS custom_fields, w.source, w.rating, w.row_version,
               {Visibility.IsCollaboratorSql} AS is_collaborator
        FROM work_orders w
        JOIN templates t ON t.id = w.template_id
        JOIN departments d ON d.id = w.department_id
        JOIN users r ON r.id = w.requester_id
        LEFT JOIN users u ON u.id = w.assignee_id
        LEFT JOIN assets a ON a.id = w.asset_id
        WHERE w.id = @id
        """;

    private const string SelectHistory = """
        SELECT e.id, e.occurred_at, e.actor_id, u.display_name AS actor_name, e.kind, e.from_status, e.to_status, e.note, e.payload::text AS payload
        FROM work_order_events e LEFT JOIN users u ON u.id = e.actor_id
        WHERE e.work_order_id = @id ORDER BY e.id
        """;

    private const string SelectComments = """
        SELECT c.id AS Id, c.author_id AS AuthorId, u.display_name AS AuthorName, c.body AS Body, c.created_at AS CreatedAt
        FROM comments c JOIN users u ON u.id = c.author_id
        WHERE c.work_order_id = @id ORDER BY c.id
        """;

    private const string SelectAttachments = """
        SELECT a.id AS Id, a.file_name AS FileName, a.content_type AS ContentType, a.size_bytes AS SizeBytes,
               encode(a.sha256, 'hex') AS Sha256, u.display_name AS UploadedByName, a.uploaded_at AS UploadedAt
        FROM attachments a JOIN users u ON u.id = a.uploaded_by
        WHERE a.work_order_id = @id ORDER BY a.id
        """;

    public async Task<Outcome<WorkOrderDetail>> GetAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var found = await WorkOrderAccess.LoadAsync<DetailRow>(connection, null, SelectDetail, id, actor, cancellationToken);
        if (found.Failure is { } refused)
        {
            return refused;
        }

        var row = found.Value!;

        var history = (await connection.QueryAsync<EventRow>(new CommandDefinition(SelectHistory, new { id }, cancellationToken: cancellationToken)))
            .Select(e => e.ToEvent()).ToList();
        var comments = (await connection.QueryAsync<Comment>(new CommandDefinition(SelectComments, new { id }, cancellationToken: cancellationToken))).ToList();
        var attachments = (await connection.QueryAsync<AttachmentInfo>(new CommandDefinition(SelectAttachments, new { id }, cancellationToken: cancellationToken))).ToList();
        return row.ToDetail(actor, history, comments, attachments);
    }

    public async Task<Outcome<Page<WorkOrderSummary>>> ListAsync(WorkOrderQuery query, Actor actor, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (query.Skip < 0)
        {
            errors.Add("skip", "field.not_negative");
        }

        if (query.Take is < 1 or > MaxTake)
        {
            errors.Add("take", "field.from_to", 1, MaxTake);
        }

        string? sortColumn = null;
        if (query.OrderBy is not null && !SortColumns.TryGetValue(query.OrderBy, out sortColumn))
        {
            errors.Add("orderBy", "field.one_of", string.Join(", ", SortColumns.Keys));
        }

        if (query.Text is { Length: > 200 })
        {
            errors.Add("text", "field.too_long", 200);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var where = new StringBuilder(Visibility.Sql);
        var parameters = new DynamicParameters();
        Visibility.AddParameters(parameters, actor);
        if (query.Statuses is { Count: > 0 } statuses)
        {
            where.Append(" AND w.status = ANY(@statuses)");
            parameters.Add("statuses", statuses.Select(WireNames.Of).ToArray());
        }

        if (query.AssigneeId is { } assigneeId)
        {
            where.Append(" AND w.assignee_id = @assigneeId");
            parameters.Add("assigneeId", assigneeId);
        }

        if (query.DepartmentId is { } departmentId)
        {
            where.Append(" AND w.department_id = @departmentId");
            parameters.Add("departmentId", departmentId);
        }

        if (query.RequesterId is { } requesterId)
        {
            where.Append(" AND w.requester_id = @requesterId");
            parameters.Add("requesterId", requesterId);
        }

        if (query.AssetId is { } assetId)
        {
            // The asset and everything below it in the tree.
            where.Append("""
                 AND w.asset_id IN (WITH RECURSIVE sub AS (SELECT id FROM assets WHERE id = @assetId
                     UNION ALL SELECT a.id FROM assets a JOIN sub ON a.parent_id = sub.id) SELECT id FROM sub)
                """);
            parameters.Add("assetId", assetId);
        }

        if (!string.IsNullOrWhiteSpace(query.Text))
        {
            where.Append(" AND (w.number || ' ' || w.title || ' ' || w.description) ILIKE @text");
            parameters.Add("text", "%" + EscapeLike(query.Text.Trim()) + "%");
        }

        parameters.Add("skip", query.Skip);
        parameters.Add("take", query.Take);
        var order = $"{sortColumn ?? "w.id"} {(query.Descending ? "DESC" : "ASC")} NULLS LAST, w.id {(query.Descending ? "DESC" : "ASC")}";
        var sql = $"""
            SELECT w.id, w.number, w.title, w.priority, w.status, w.work_type, t.name AS template_name, w.department_id,
                   d.name AS department_name, w.assignee_id, u.display_name AS assignee_name, w.asset_id, a.code AS asset_code,
                   r.display_name AS requester_name, w.created_at, w.updated_at, w.due_at, w.row_version
            FROM work_orders w
            JOIN templates t ON t.id = w.template_id
            JOIN departments d ON d.id = w.department_id
            JOIN users r ON r.id = w.requester_id
            LEFT JOIN users u ON u.id = w.assignee_id
            LEFT JOIN assets a ON a.id = w.asset_id
            WHERE {where}
            ORDER BY {order}
            OFFSET @skip LIMIT @take;
            SELECT count(*) FROM work_orders w WHERE {where};
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
        var items = (await results.ReadAsync<SummaryRow>()).Select(r => r.ToSummary()).ToList();
        var total = await results.ReadSingleAsync<long>();
        return new Page<WorkOrderSummary>(items, total);
    }

    private static string EscapeLike(string text) => text.Replace(@"\", @"\\", StringComparison.Ordinal)
        .Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);

    private sealed class SummaryRow
    {
        public long Id { get; init; }
        public string Number { get; init; } = "";
        public string Title { get; init; } = "";
        public short Priority { get; init; }
        public string Status { get; init; } = "";
        public string WorkType { get; init; } = "";
        public string TemplateName { get; init; } = "";
        public long DepartmentId { get; init; }
        public string DepartmentName { get; init; } = "";
        public long? AssigneeId { get; init; }
        public string? AssigneeName { get; init; }
        public long? AssetId { get; init; }
        public string? AssetCode { get; init; }
        public string RequesterName { get; init; } = "";
        public DateTime CreatedAt { get; init; }
        public DateTime UpdatedAt { get; init; }
        public DateTime? DueAt { get; init; }
        public int RowVersion { get; init; }

        public WorkOrderSummary ToSummary() => new(
            Id, Number, Title, Priority, WireNames.Parse<WorkOrderStatus>(Status), WireNames.Parse<WorkType>(WorkType), TemplateName,
            DepartmentId, DepartmentName, AssigneeId, AssigneeName, AssetId, AssetCode, RequesterName, CreatedAt, UpdatedAt, DueAt, RowVersion);
    }

    private sealed class EventRow
    {
        public long Id { get; init; }
        public DateTime OccurredAt { get; init; }
        public long? ActorId { get; init; }
        public string? ActorName { get; init; }
        public string Kind { get; init; } = "";
        public string? FromStatus { get; init; }
        public string? ToStatus { get; init; }
        public string? Note { get; init; }
        public string Payload { get; init; } = "{}";

        public WorkOrderEvent ToEvent() => new(
            Id, OccurredAt, ActorId, ActorName, Kind,
            FromStatus is null ? null : WireNames.Parse<WorkOrderStatus>(FromStatus),
            ToStatus is null ? null : WireNames.Parse<WorkOrderStatus>(ToStatus),
            Note,
            JsonSerializer.Deserialize<JsonElement>(Payload));
    }

    private sealed class DetailRow : IVisibleWorkOrder
    {
        public long Id { get; init; }
        public string Number { get; init; } = "";
        public long TemplateId { get; init; }
        public string TemplateName { get; init; } = "";
        public string WorkType { get; init; } = "";
        public string Title { get; init; } = "";
        public string Description { get; init; } = "";
        public short Priority { get; init; }
        public string Status { get; init; } = "";
        public long RequesterId { get; init; }
        public string RequesterName { get; init; } = "";
        public string? Contact { get; init; }
        public long? AssetId { get; init; }
        public string? AssetCode { get; init; }
        public string? AssetName { get; init; }
        public long DepartmentId { get; init; }
        public string DepartmentName { get; init; } = "";
        public long? AssigneeId { get; init; }
        public string? AssigneeName { get; init; }
        public string? Reference { get; init; }
        public DateTime? DueAt { get; init; }
        public DateTime? ResponseDueAt { get; init; }
        public DateTime? ResolutionDueAt { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime? AcknowledgedAt { get; init; }
        public DateTime? StartedAt { get; init; }
        public DateTime? ResolvedAt { get; init; }
        public DateTime? ClosedAt { get; init; }
        public string CustomFields { get; init; } = "{}";
        public string Source { get; init; } = "";
        public short? Rating { get; init; }
        public int RowVersion { get; init; }
        public bool IsCollaborator { get; init; }

        public WorkOrderDetail ToDetail(Actor actor, List<WorkOrderEvent> history, List<Comment> comments, List<AttachmentInfo> attachments)
        {
            var status = WireNames.Parse<WorkOrderStatus>(Status);
            var state = new WorkOrderState(status, RequesterId, DepartmentId, AssigneeId, AcknowledgedAt, StartedAt);
            return new WorkOrderDetail(
                Id, Number, TemplateId, TemplateName, WireNames.Parse<WorkType>(WorkType), Title, Description, Priority, status,
                RequesterId, RequesterName, Contact, AssetId, AssetCode, AssetName, DepartmentId, DepartmentName, AssigneeId, AssigneeName,
                Reference, DueAt, ResponseDueAt, ResolutionDueAt, CreatedAt, AcknowledgedAt, StartedAt, ResolvedAt, ClosedAt,
                JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(CustomFields) ?? [],
                WireNames.Parse<WorkOrderSource>(Source), Rating, RowVersion,
                Lifecycle.Allowed(state, actor), history, comments, attachments);
        }
    }
}
