using System.Text.Json;
using Dapper;
using Npgsql;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Templates;

public sealed record Template(
    long Id,
    string Name,
    WorkType WorkType,
    int DefaultPriority,
    long DepartmentId,
    string DepartmentName,
    bool AssetRequired,
    bool ContactRequired,
    IReadOnlyList<TemplateField> Fields,
    bool Active,
    int RowVersion);

/// <summary>What an administrator sends to create or change a template.</summary>
public sealed record TemplateRequest(
    string? Name,
    WorkType? WorkType,
    int? DefaultPriority,
    long? DepartmentId,
    bool AssetRequired = false,
    bool ContactRequired = false,
    IReadOnlyList<TemplateField>? Fields = null,
    bool Active = true,
    int? RowVersion = null);

/// <summary>Templates: read by everyone who raises work, written by administrators.</summary>
public sealed class Templates(NpgsqlDataSource dataSource)
{
    /// <summary>The refusal of a template change by anyone but an administrator.</summary>
    public static Failure? AdminOnly(Actor actor) => actor.Role == Role.Admin ? null : Failure.Forbidden("template.admin_only");

    internal const string SelectTemplates = """
        SELECT t.id, t.name, t.work_type, t.default_priority, t.department_id, d.name AS department_name,
               t.asset_required, t.contact_required, t.fields::text AS fields, t.active, t.row_version
        FROM templates t JOIN departments d ON d.id = t.department_id
        """;

    public async Task<IReadOnlyList<Template>> ListAsync(bool includeInactive, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<TemplateRow>(new CommandDefinition(
            SelectTemplates + " WHERE t.active OR @includeInactive ORDER BY t.name",
            new { includeInactive },
            cancellationToken: cancellationToken));
        return rows.Select(r => r.ToTemplate()).ToList();
    }

    public async Task<Template?> FindAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await FindAsync(connection, null, id, cancellationToken);
    }

    internal static async Task<Template?> FindAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long id, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<TemplateRow>(new CommandDefinition(
            SelectTemplates + " WHERE t.id = @id",
            new { id },
            transaction,
            cancellationToken: cancellationToken));
        return row?.ToTemplate();
    }

    public async Task<Outcome<Template>> CreateAsync(TemplateRequest request, Actor actor, CancellationToken cancellationToken)
    {
        const string insert = """
            INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, contact_required, fields, active)
            VALUES (@Name, @WorkType, @DefaultPriority, @DepartmentId, @AssetRequired, @ContactRequired, @Fields::jsonb, @Active)
            RETURNING id
            """;
        return await WriteAsync(request, actor, null, insert, cancellationToken);
    }

    public async Task<Outcome<Template>> UpdateAsync(long id, TemplateRequest request, Actor actor, CancellationToken cancellationToken)
    {
        const string update = """
            UPDATE templates
            SET name = @Name, work_type = @WorkType, default_priority = @DefaultPriority, department_id = @DepartmentId,
                asset_required = @AssetRequired, contact_required = @ContactRequired, fields = @Fields::jsonb,
                active = @Active, row_version = row_version + 1, updated_at = now()
            WHERE id = @Id AND row_version = @RowVersion
            RETURNING id
            """;
        return await WriteAsync(request, actor, id, update, cancellationToken);
    }

    private async Task<Outcome<Template>> WriteAsync(TemplateRequest request, Actor actor, long? id, string sql, CancellationToken cancellationToken)
    {
        if (actor.Role != Role.Admin)
        {
            return Failure.Forbidden("template.admin_only");
        }

        var errors = new FieldErrors();
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 100)
        {
            errors.Add("name", "field.required_short", 100);
        }

        if (request.WorkType is null)
        {
            errors.Add("workType", "template.work_type_required");
        }

        if (request.DefaultPriority is not (>= 1 and <= 4))
        {
            errors.Add("defaultPriority", "field.priority");
        }

        if (request.DepartmentId is null)
        {
            errors.Add("departmentId", "field.required");
        }

        if (id is not null && request.RowVersion is null)
        {
            errors.Add("rowVersion", "row_version.required");
        }

        TemplateSchema.ValidateDefinition(request.Fields, errors);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (request.DepartmentId is { } departmentId
            && !await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM departments WHERE id = @departmentId)", new { departmentId }, cancellationToken: cancellationToken)))
        {
            errors.Add("departmentId", "department.missing", departmentId);
        }

        if (errors.Any)
        {
            return errors.ToFailure();
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        long? written;
        try
        {
            written = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                sql,
                new
                {
                    Id = id,
                    Name = name,
                    WorkType = WireNames.Of(request.WorkType!.Value),
                    request.DefaultPriority,
                    request.DepartmentId,
                    request.AssetRequired,
                    request.ContactRequired,
                    Fields = JsonSerializer.Serialize(request.Fields ?? [], TemplateSchema.Json),
                    request.Active,
                    request.RowVersion,
                },
                transaction,
                cancellationToken: cancellationToken));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return Failure.Invalid("name", "template.name_taken", name);
        }

        if (written is null)
        {
            var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM templates WHERE id = @id)", new { id }, transaction, cancellationToken: cancellationToken));
            return exists
                ? Failure.Conflict("template.stale")
                : Failure.NotFound("template.not_found", id);
        }

        var template = await FindAsync(connection, transaction, written.Value, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return template!;
    }

    internal sealed class TemplateRow
    {
        public long Id { get; init; }
        public string Name { get; init; } = "";
        public string WorkType { get; init; } = "";
        public short DefaultPriority { get; init; }
        public long DepartmentId { get; init; }
        public string DepartmentName { get; init; } = "";
        public bool AssetRequired { get; init; }
        public bool ContactRequired { get; init; }
        public string Fields { get; init; } = "[]";
        public bool Active { get; init; }
        public int RowVersion { get; init; }

        public Template ToTemplate() => new(
            Id,
            Name,
            WireNames.Parse<WorkType>(WorkType),
            DefaultPriority,
            DepartmentId,
            DepartmentName,
            AssetRequired,
            ContactRequired,
            JsonSerializer.Deserialize<List<TemplateField>>(Fields, TemplateSchema.Json) ?? [],
            Active,
            RowVersion);
    }
}
