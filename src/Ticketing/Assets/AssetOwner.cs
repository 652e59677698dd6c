using Dapper;
using WorkOrders.Ticketing.Access;

namespace WorkOrders.Ticketing.Assets;

/// <summary>The department to set as an asset's owner (null: none of its own, the nearest ancestor's applies); the row version, when sent, must be the current one.</summary>
public sealed record AssetOwnerRequest(long? DepartmentId, int? RowVersion = null);

/// <summary>An asset's own owner department, and the one that applies: its own, else its nearest ancestor's.</summary>
public sealed record AssetOwner(long AssetId, long? DepartmentId, long? OwnerDepartmentId, string? OwnerDepartmentName, int RowVersion);

public sealed partial class AssetRegister
{
    /// <summary>The asset's owner department as it applies, through the tree.</summary>
    public async Task<Outcome<AssetOwner>> OwnerAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var owner = await connection.QuerySingleOrDefaultAsync<OwnerRow>(new CommandDefinition(
            """
            WITH RECURSIVE up AS (SELECT id, parent_id, owner_department_id, 0 AS depth FROM assets WHERE id = @id
                UNION ALL SELECT p.id, p.parent_id, p.owner_department_id, up.depth + 1 FROM assets p JOIN up ON p.id = up.parent_id)
            SELECT a.id AS asset_id, a.owner_department_id AS department_id, o.owner_department_id, d.name AS owner_department_name, a.row_version
            FROM assets a
            LEFT JOIN LATERAL (SELECT owner_department_id FROM up WHERE owner_department_id IS NOT NULL ORDER BY depth LIMIT 1) o ON true
            LEFT JOIN departments d ON d.id = o.owner_department_id
            WHERE a.id = @id
            """,
            new { id },
            cancellationToken: cancellationToken));
        return owner is null
            ? Failure.NotFound("asset.not_found", id)
            : new AssetOwner(owner.AssetId, owner.DepartmentId, owner.OwnerDepartmentId, owner.OwnerDepartmentName, owner.RowVersion);
    }

    /// <summary>Sets or clears the asset's own owner department; the 'edited' event holds it before and after.</summary>
    public async Task<Outcome<AssetOwner>> SetOwnerAsync(long id, AssetOwnerRequest request, Actor actor, CancellationToken cancellationToken)
    {
        if (!actor.WritesAssets)
        {
            return Failure.Forbidden("asset.write_forbidden");
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (request.DepartmentId is { } departmentId && !await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM departments WHERE id = @departmentId)", new { departmentId }, transaction, cancellationToken: cancellationToken)))
        {
            return Failure.Invalid("departmentId", "department.missing", departmentId);
        }

        var current = await LockedAsync(connection, transaction, id, request.RowVersion, cancellationToken);
        if (current.Failure is { } refused)
        {
            return refused;
        }

        var before = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT owner_department_id FROM assets WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));
        if (before == request.DepartmentId)
        {
            return Failure.Invalid("departmentId", "asset.nothing_changed");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE assets SET owner_department_id = @departmentId, row_version = row_version + 1, updated_at = @now WHERE id = @id",
            new { departmentId = request.DepartmentId, now, id },
            transaction,
            cancellationToken: cancellationToken));
        await AppendAsync(
            connection, transaction, id, now, actor.UserId, "edited", null, null, null,
            new { before = new { ownerDepartmentId = before }, after = new { ownerDepartmentId = request.DepartmentId } },
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return await OwnerAsync(id, cancellationToken);
    }

    private sealed class OwnerRow
    {
        public long AssetId { get; init; }
        public long? DepartmentId { get; init; }
        public long? OwnerDepartmentId { get; init; }
        public string? OwnerDepartmentName { get; init; }
        public int RowVersion { get; init; }
    }
}
