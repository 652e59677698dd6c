using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Sla;

/// <summary>Targets in business minutes for a priority, optionally narrowed to one template.</summary>
public sealed record SlaPolicy(
    long Id,
    string Name,
    int Priority,
    long? TemplateId,
    string? TemplateName,
    int ResponseMinutes,
    int ResolutionMinutes,
    int WarningPercent,
    int RowVersion);

/// <summary>What an administrator sends to create or change a policy. The warning share defaults to 80 %.</summary>
public sealed record SlaPolicyRequest(
    string? Name,
    int? Priority,
    long? TemplateId,
    int? ResponseMinutes,
    int? ResolutionMinutes,
    int? WarningPercent = null,
    int? RowVersion = null);

/// <summary>SLA policies: written by administrators; the most specific one (template and priority over priority alone) starts a work order's clock.</summary>
public sealed class SlaPolicies(NpgsqlDataSource dataSource)
{
    public const int DefaultWarningPercent = 80;

    /// <summary>A year of business minutes: a target longer than that is a typing mistake.</summary>
    public const int MaxMinutes = 366 * 24 * 60;

    private const string Select = """
        SELECT p.id, p.name, p.priority::int AS priority, p.template_id, t.name AS template_name, p.response_minutes, p.resolution_minutes,
               p.warning_percent::int AS warning_percent, p.row_version
        FROM sla_policies p LEFT JOIN templates t ON t.id = p.template_id
        """;

    public async Task<IReadOnlyList<SlaPolicy>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<SlaPolicy>(new CommandDefinition(
            Select + " ORDER BY p.priority, t.name NULLS FIRST", cancellationToken: cancellationToken))).AsList();
    }

    public async Task<Outcome<SlaPolicy>> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await FindAsync(connection, null, id, cancellationToken) is { } policy ? policy : Failure.NotFound("sla_policy.not_found", id);
    }

    /// <summary>The rules needing no database.</summary>
    public static void Validate(SlaPolicyRequest request, FieldErrors errors)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 100)
        {
            errors.Add("name", "field.required_short", 100);
        }

        if (request.Priority is not (>= 1 and <= 4))
        {
            errors.Add("priority", "field.priority");
        }

        Target("responseMinutes", request.ResponseMinutes, errors);
        Target("resolutionMinutes", request.ResolutionMinutes, errors);
        if (request is { ResponseMinutes: > 0 and var response, ResolutionMinutes: > 0 and var resolution } && resolution < response)
        {
            errors.Add("resolutionMinutes", "sla_policy.resolution_before_response", response);
        }

        if (request.WarningPercent is { } percent && percent is < 1 or > 99)
        {
            errors.Add("warningPercent", "sla_policy.warning_percent");
        }
    }

    public Task<Outcome<SlaPolicy>> CreateAsync(SlaPolicyRequest request, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(null, request, actor, cancellationToken);

    public Task<Outcome<SlaPolicy>> UpdateAsync(long id, SlaPolicyRequest request, Actor actor, CancellationToken cancellationToken) =>
        WriteAsync(id, request, actor, cancellationToken);

    /// <summary>Deletes a policy; clocks it already started keep their targets.</summary>
    public async Task<Outcome<bool>> DeleteAsync(long id, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("sla_policy.admin_only");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM sla_policies WHERE id = @id", new { id }, cancellationToken: cancellationToken)) > 0
            ? true
            : Failure.NotFound("sla_policy.not_found", id);
    }

    private async Task<Outcome<SlaPolicy>> WriteAsync(long? id, SlaPolicyRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("sla_policy.admin_only");
        }

        var errors = new FieldErrors();
        Validate(request, errors);
        if (id is not null && request.RowVersion is null)
        {
            errors.Add("rowVersion", "row_version.required");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        string? templateName = null;
        if (request.TemplateId is { } templateId)
        {
            templateName = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT name FROM templates WHERE id = @templateId", new { templateId }, cancellationToken: cancellationToken));
            if (templateName is null)
            {
                errors.Add("templateId", "template.missing", templateId);
            }
        }

        if (!errors.Any && await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT id FROM sla_policies WHERE priority = @Priority AND template_id IS NOT DISTINCT FROM @TemplateId AND id IS DISTINCT FROM @id",
                new { request.Priority, request.TemplateId, id },
                cancellationToken: cancellationToken)) is { } other)
        {
            errors.Add(request.TemplateId is null ? "priority" : "templateId", Duplicate(request.Priority!.Value, templateName, other));
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        var parameters = new
        {
            id,
            name = request.Name!.Trim(),
            request.Priority,
            request.TemplateId,
            request.ResponseMinutes,
            request.ResolutionMinutes,
            warningPercent = request.WarningPercent ?? DefaultWarningPercent,
            request.RowVersion,
        };
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        long? written;
        try
        {
            written = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                id is null
                    ? """
                      INSERT INTO sla_policies (name, priority, template_id, response_minutes, resolution_minutes, warning_percent)
                      VALUES (@name, @Priority, @TemplateId, @ResponseMinutes, @ResolutionMinutes, @warningPercent) RETURNING id
                      """
                    : """
                      UPDATE sla_policies SET name = @name, priority = @Priority, template_id = @TemplateId, response_minutes = @ResponseMinutes,
                          resolution_minutes = @ResolutionMinutes, warning_percent = @warningPercent, row_version = row_version + 1, updated_at = now()
                      WHERE id = @id AND row_version = @RowVersion RETURNING id
                      """,
                parameters,
                transaction,
                cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Another administrator saved the same priority and template meanwhile.
            return Failure.Invalid(request.TemplateId is null ? "priority" : "templateId", Duplicate(request.Priority!.Value, templateName, null));
        }

        if (written is null)
        {
            var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM sla_policies WHERE id = @id)", new { id }, transaction, cancellationToken: cancellationToken));
            return exists
                ? Failure.Conflict("sla_policy.stale")
                : Failure.NotFound("sla_policy.not_found", id);
        }

        var saved = (await FindAsync(connection, transaction, written.Value, cancellationToken))!;
        await transaction.CommitAsync(cancellationToken);
        return saved;
    }

    private static Refusal Duplicate(int priority, string? templateName, long? other) => (templateName, other) switch
    {
        (null, { } o) => new("sla_policy.duplicate", priority, o),
        (null, null) => new("sla_policy.duplicate_saved_meanwhile", priority),
        (_, { } o) => new("sla_policy.duplicate_template", priority, templateName, o),
        _ => new("sla_policy.duplicate_template_saved_meanwhile", priority, templateName),
    };

    private static async Task<SlaPolicy?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<SlaPolicy>(new CommandDefinition(Select + " WHERE p.id = @id", new { id }, transaction, cancellationToken: cancellationToken));

    private static void Target(string field, int? minutes, FieldErrors errors)
    {
        if (minutes is null)
        {
            errors.Add(field, "sla_policy.target_required");
        }
        else if (minutes <= 0)
        {
            errors.Add(field, "sla_policy.target_positive");
        }
        else if (minutes > MaxMinutes)
        {
            errors.Add(field, "sla_policy.target_too_long", MaxMinutes);
        }
    }
}
