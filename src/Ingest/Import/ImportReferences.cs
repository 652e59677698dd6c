using System.Security.Cryptography;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Npgsql;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Templates;

namespace WorkOrders.Ingest.Import;

/// <summary>
/// The rows imported work orders point at, created when missing: the system user 'import' (requester of every imported work
/// order and actor of its history; inactive, so nobody signs in as it), the template, departments, site assets and
/// assignees. Ids are cached for the run.
/// </summary>
public sealed class ImportReferences
{
    public const string ImportUserName = "import";

    // Each statement returns the existing row's id, or the new one's and true; the INSERT and the SELECT see the same snapshot.
    private const string EnsureUser = """
        WITH made AS (
            INSERT INTO users (user_name, display_name, password_hash, role, department_id, active)
            VALUES (@userName, @displayName, @passwordHash, @role, @departmentId, false)
            ON CONFLICT (user_name) DO NOTHING
            RETURNING id)
        SELECT id, true AS created FROM made
        UNION ALL SELECT id, false FROM users WHERE user_name = @userName
        LIMIT 1
        """;

    // Many users at once, in the order given: those missing are created, and every one's id returned. The SELECT does not
    // see what the INSERT of the same statement adds, so each name comes back once, with created telling which part found it.
    private const string EnsureUsers = """
        WITH wanted AS (
            SELECT * FROM unnest(@userNames::text[], @displayNames::text[], @departmentIds::bigint[]) WITH ORDINALITY AS w(user_name, display_name, department_id, n)),
        made AS (
            INSERT INTO users (user_name, display_name, password_hash, role, department_id, active)
            SELECT user_name, display_name, @passwordHash, @role, department_id, false FROM wanted ORDER BY n
            ON CONFLICT (user_name) DO NOTHING
            RETURNING id, user_name)
        SELECT user_name AS "UserName", id AS "Id", true AS "Created" FROM made
        UNION ALL SELECT u.user_name, u.id, false FROM users u JOIN wanted w ON w.user_name = u.user_name
        """;

    private const string EnsureDepartment = """
        WITH made AS (INSERT INTO departments (name) VALUES (@name) ON CONFLICT (name) DO NOTHING RETURNING id)
        SELECT id, true AS created FROM made
        UNION ALL SELECT id, false FROM departments WHERE name = @name
        LIMIT 1
        """;

    private const string EnsureSite = """
        WITH made AS (
            INSERT INTO assets (code, name, kind) VALUES (@code, @name, 'site')
            ON CONFLICT (code) DO NOTHING
            RETURNING id)
        SELECT id, true AS created FROM made
        UNION ALL SELECT id, false FROM assets WHERE code = @code
        LIMIT 1
        """;

    // An asset the register did not have, with its 'imported' history event; one it had is left as it is.
    private const string EnsureAsset = """
        WITH made AS (
            INSERT INTO assets (code, name, kind, parent_id, asset_type, installed_on) VALUES (@code, @name, @kind, @parentId, @type, @installedOn)
            ON CONFLICT (code) DO NOTHING
            RETURNING id),
        logged AS (
            INSERT INTO asset_events (asset_id, occurred_at, actor_id, kind, to_state, payload)
            SELECT id, now(), @actorId, 'imported', 'in_service', @payload::jsonb FROM made)
        SELECT id, true AS created FROM made
        UNION ALL SELECT id, false FROM assets WHERE code = @code
        LIMIT 1
        """;

    private const string EnsureTemplate = """
        WITH made AS (
            INSERT INTO templates (name, work_type, default_priority, department_id, fields)
            VALUES (@name, @workType, @defaultPriority, @departmentId, @fields::jsonb)
            ON CONFLICT (name) DO NOTHING
            RETURNING id)
        SELECT id, true AS created FROM made
        UNION ALL SELECT id, false FROM templates WHERE name = @name
        LIMIT 1
        """;

    private readonly Dictionary<string, long> _departments = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _sites = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _assets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _users = new(StringComparer.Ordinal);

    // One hash per run, shared by every user the run creates: hashing costs about 45 ms by design, a run may create
    // thousands of assignees, and a secret nobody ever knew is no weaker for being hashed once.
    private readonly Lazy<string> _unusablePassword = new(UnusablePassword);

    private ImportReferences(long importUserId, IReadOnlyList<Template> templates, bool templateCreated)
    {
        ImportUserId = importUserId;
        Template = templates[0];
        Templates = templates.ToDictionary(t => t.Name, StringComparer.Ordinal);
        TemplateCreated = templateCreated;
        foreach (var template in templates)
        {
            _departments[template.DepartmentName] = template.DepartmentId;
        }
    }

    public long ImportUserId { get; }

    /// <summary>The mapping's default template.</summary>
    public Template Template { get; }

    /// <summary>Every template of the mapping by name, the default among them.</summary>
    public IReadOnlyDictionary<string, Template> Templates { get; }

    public bool TemplateCreated { get; }

    public int DepartmentsCreated { get; private set; }

    public int SitesCreated { get; private set; }

    public int AssetsCreated { get; private set; }

    public int UsersCreated { get; private set; }

    /// <summary>The import user and the templates, made before any row is read; refuses a template that cannot take the mapping.</summary>
    public static async Task<ImportReferences> PrepareAsync(NpgsqlDataSource dataSource, ImportMapping mapping, CancellationToken cancellationToken)
    {
        long userId;
        var ids = new List<long>();
        var templateCreated = false;
        var departmentsCreated = 0;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            (userId, _) = await connection.QuerySingleAsync<(long, bool)>(new CommandDefinition(
                EnsureUser,
                new { userName = ImportUserName, displayName = "Imported history", passwordHash = UnusablePassword(), role = Roles.Requester, departmentId = (long?)null },
                transaction,
                cancellationToken: cancellationToken));
            foreach (var spec in mapping.AllTemplates)
            {
                var (id, created, departmentCreated) = await TemplateAsync(connection, transaction, spec, mapping, cancellationToken);
                ids.Add(id);
                templateCreated |= created;
                departmentsCreated += departmentCreated ? 1 : 0;
            }

            await transaction.CommitAsync(cancellationToken);
        }

        // Ticketing's readers map snake_case columns by this Dapper convention, which AddTicketing sets in the web host.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        var templates = new List<Template>();
        foreach (var (id, spec) in ids.Zip(mapping.AllTemplates))
        {
            var template = await new Templates(dataSource).FindAsync(id, cancellationToken)
                ?? throw new InvalidOperationException($"template {id} vanished while the import started");
            Check(template, spec, mapping);
            templates.Add(template);
        }

        return new ImportReferences(userId, templates, templateCreated) { DepartmentsCreated = departmentsCreated };
    }

    /// <summary>The system user 'import', created when missing; the actor of whatever an import writes.</summary>
    internal static async Task<long> ImportUserAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var (id, _) = await connection.QuerySingleAsync<(long, bool)>(new CommandDefinition(
            EnsureUser,
            new { userName = ImportUserName, displayName = "Imported history", passwordHash = UnusablePassword(), role = Roles.Requester, departmentId = (long?)null },
            transaction,
            cancellationToken: cancellationToken));
        return id;
    }

    /// <summary>A department by name, created when missing.</summary>
    internal static async Task<long> EnsureDepartmentAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, CancellationToken cancellationToken)
    {
        var (id, _) = await connection.QuerySingleAsync<(long, bool)>(new CommandDefinition(
            EnsureDepartment, new { name }, transaction, cancellationToken: cancellationToken));
        return id;
    }

    /// <summary>A template of the mapping by name, created (with its department) when missing.</summary>
    private static async Task<(long Id, bool Created, bool DepartmentCreated)> TemplateAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, TemplateSpec spec, ImportMapping mapping, CancellationToken cancellationToken)
    {
        var existing = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT id FROM templates WHERE name = @name", new { name = spec.Name.Trim() }, transaction, cancellationToken: cancellationToken));
        if (existing is { } id)
        {
            return (id, false, false);
        }

        if (string.IsNullOrWhiteSpace(spec.Department))
        {
            throw new MappingException($"template '{spec.Name}' does not exist; its department names the department of the one the import creates");
        }

        var (departmentId, departmentCreated) = await connection.QuerySingleAsync<(long, bool)>(new CommandDefinition(
            EnsureDepartment, new { name = spec.Department.Trim() }, transaction, cancellationToken: cancellationToken));
        var (templateId, created) = await connection.QuerySingleAsync<(long, bool)>(new CommandDefinition(
            EnsureTemplate,
            new
            {
                name = spec.Name.Trim(),
                workType = WireNames.Of(spec.WorkType),
                defaultPriority = spec.DefaultPriority,
                departmentId,
                fields = JsonSerializer.Serialize(FieldsFor(mapping), TemplateSchema.Json),
            },
            transaction,
            cancellationToken: cancellationToken));
        return (templateId, created, departmentCreated);
    }

    public async Task<long> DepartmentAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string name, CancellationToken cancellationToken)
    {
        if (!_departments.TryGetValue(name, out var id))
        {
            (id, var created) = await connection.QuerySingleAsync<(long, bool)>(new CommandDefinition(
                EnsureDepartment, new { name }, transaction, cancellationToken: cancellationToken));
            DepartmentsCreated += created ? 1 : 0;
            _departments[name] = id;
        }

        return id;
    }

    public async Task<long> SiteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SiteRef site, CancellationToken cancellationToken)
    {
        if (!_sites.TryGetValue(site.Code, out var id))
        {
            (id, var created) = await connection.QuerySingleAsync<(long, bool)>(new CommandDefinition(
                EnsureSite, new { code = site.Code, name = site.Name }, transaction, cancellationToken: cancellationToken));
            SitesCreated += created ? 1 : 0;
            _sites[site.Code] = id;
        }

        return id;
    }

    /// <summary>The row's asset by code, created under its parent (the row's site, or the mapping's parent code) when missing.</summary>
    public async Task<long> AssetAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AssetRef asset, long? siteId, string? siteCode, CancellationToken cancellationToken)
    {
        if (_assets.TryGetValue(asset.Code, out var id))
        {
            return id;
        }

        long? parentId = asset.ParentCode is null ? null
            : asset.ParentCode == siteCode ? siteId
            : _assets.TryGetValue(asset.ParentCode, out var known) ? known
            : await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT id FROM assets WHERE code = @code", new { code = asset.ParentCode }, transaction, cancellationToken: cancellationToken))
              ?? throw new MappingException($"asset.parentCode '{asset.ParentCode}' is not in the asset register");
        var kind = WireNames.Of(asset.Kind);
        (id, var created) = await connection.QuerySingleAsync<(long, bool)>(new CommandDefinition(
            EnsureAsset,
            new
            {
                code = asset.Code,
                name = asset.Name,
                kind,
                parentId,
                type = asset.Type,
                installedOn = asset.InstalledOn?.ToDateTime(TimeOnly.MinValue),
                actorId = ImportUserId,
                payload = JsonSerializer.Serialize(new { code = asset.Code, name = asset.Name, kind, parentId, assetType = asset.Type, installedOn = asset.InstalledOn }),
            },
            transaction,
            cancellationToken: cancellationToken));
        AssetsCreated += created ? 1 : 0;
        _assets[asset.Code] = id;
        return id;
    }

    /// <summary>An assignee of the source; a missing one becomes an inactive technician of the department (no sign-in, no new work).</summary>
    public async Task<long> AssigneeAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string userName, string displayName, long departmentId, CancellationToken cancellationToken)
    {
        if (!_users.TryGetValue(userName, out var id))
        {
            (id, var created) = await connection.QuerySingleAsync<(long, bool)>(new CommandDefinition(
                EnsureUser,
                new { userName, displayName = displayName.Length > 200 ? displayName[..200] : displayName, passwordHash = _unusablePassword.Value, role = Roles.Technician, departmentId },
                transaction,
                cancellationToken: cancellationToken));
            UsersCreated += created ? 1 : 0;
            _users[userName] = id;
        }

        return id;
    }

    /// <summary>Whether the assignee's id is known to this run already.</summary>
    public bool KnowsAssignee(string userName) => _users.ContainsKey(userName);

    /// <summary>
    /// Many assignees at once (user name, name as the source wrote it, department), as <see cref="AssigneeAsync"/> does each:
    /// a missing one becomes an inactive technician of its department.
    /// </summary>
    public async Task AssigneesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<(string UserName, string DisplayName, long DepartmentId)> assignees,
        CancellationToken cancellationToken)
    {
        if (assignees.Count == 0)
        {
            return;
        }

        var found = await connection.QueryAsync<(string UserName, long Id, bool Created)>(new CommandDefinition(
            EnsureUsers,
            new
            {
                userNames = assignees.Select(a => a.UserName).ToArray(),
                displayNames = assignees.Select(a => a.DisplayName.Length > 200 ? a.DisplayName[..200] : a.DisplayName).ToArray(),
                departmentIds = assignees.Select(a => a.DepartmentId).ToArray(),
                passwordHash = _unusablePassword.Value,
                role = Roles.Technician,
            },
            transaction,
            cancellationToken: cancellationToken));
        foreach (var (userName, id, created) in found)
        {
            UsersCreated += created ? 1 : 0;
            _users[userName] = id;
        }
    }

    /// <summary>The fields of a template the import creates: the category (a choice when the mapping lists every value) and text fields.</summary>
    public static IReadOnlyList<TemplateField> FieldsFor(ImportMapping mapping)
    {
        var fields = new List<TemplateField>();
        if (mapping.Category is { } category)
        {
            var options = (category.Values?.Values.AsEnumerable() ?? []).Append(category.Default).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
            fields.Add(category.Values is not null && !category.Passthrough
                ? new TemplateField(category.Field, category.Label, FieldKind.Choice, Options: options)
                : new TemplateField(category.Field, category.Label, FieldKind.Text));
        }

        fields.AddRange(mapping.CustomFields.Select(f => new TemplateField(f.Field, f.Label ?? f.Field, FieldKind.Text)));
        return fields;
    }

    private static void Check(Template template, TemplateSpec spec, ImportMapping mapping)
    {
        if (!template.Active)
        {
            throw new MappingException($"template '{template.Name}' is no longer in use; activate it or name another in template.name");
        }

        if (template.WorkType != spec.WorkType)
        {
            throw new MappingException(
                $"template '{template.Name}' exists with work type {WireNames.Of(template.WorkType)}, the mapping says {WireNames.Of(spec.WorkType)}");
        }

        var keys = (mapping.Category is null ? [] : new[] { mapping.Category.Field }).Concat(mapping.CustomFields.Select(f => f.Field));
        if (keys.FirstOrDefault(k => template.Fields.All(f => f.Key != k)) is { } missing)
        {
            throw new MappingException($"template '{template.Name}' has no custom field '{missing}'; add it to the template or change the mapping");
        }
    }

    /// <summary>
    /// A hash of a random secret that is forgotten at once: the column requires a hash, and no password matches it, so these
    /// accounts (inactive besides) cannot sign in until an administrator resets their password and reactivates them. A
    /// real hash rather than a marker keeps a sign-in attempt on them as slow as on any account.
    /// </summary>
    private static string UnusablePassword() =>
        new PasswordHasher<ImportReferences>().HashPassword(null!, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
}
