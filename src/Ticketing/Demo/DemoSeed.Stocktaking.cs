using Dapper;
using Microsoft.Extensions.Options;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Stocktaking;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.Ticketing.Demo;

public sealed partial class DemoSeed
{
    private const string FinishedStocktakeNote = "Year-end count of the spare parts store 年終備品倉盤點";
    private const string OpenStocktakeNote = "Monthly count 每月盤點";

    /// <summary>
    /// A spare parts store in the Taoyuan plant with a repair bay, the sites' owner departments, a corrective template a
    /// machine can fill, and two stocktakes of the store made through the stocktaking commands: one finished (found,
    /// moved, unexpected, and a missing generator that raised its work order) and one still being counted. Runs on
    /// every start and adds them only when the finished one is not there.
    /// </summary>
    private async Task SeedStocktakingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM stocktakes WHERE note = @note)", new { note = FinishedStocktakeNote }, cancellationToken: cancellationToken))
            || !await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT EXISTS (SELECT 1 FROM assets WHERE code = 'TY')", cancellationToken: cancellationToken)))
        {
            return;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE assets SET owner_department_id = (SELECT id FROM departments WHERE name = 'Maintenance') WHERE code = 'TY' AND owner_department_id IS NULL;
            UPDATE assets SET owner_department_id = (SELECT id FROM departments WHERE name = 'Facilities') WHERE code = 'HC' AND owner_department_id IS NULL;
            INSERT INTO templates (name, work_type, default_priority, department_id, asset_required)
            SELECT 'Missing asset search 遺失設備搜尋', 'corrective', 2, id, true FROM departments WHERE name = 'Maintenance'
            ON CONFLICT (name) DO NOTHING;
            """,
            cancellationToken: cancellationToken));
        (string Code, string Name, string Kind, string Parent, string? Type, int Criticality)[] store =
        [
            ("TY-WH", "Spare parts store 備品倉", "area", "TY", null, 3),
            ("TY-WH-BAY", "Repair bay 維修區", "line", "TY-WH", null, 3),
            ("TY-WH-FL1", "Forklift 1 堆高機", "machine", "TY-WH", "forklift", 3),
            ("TY-WH-WLD", "Welding set 焊接機", "machine", "TY-WH", "welder", 3),
            ("TY-WH-GEN", "Portable generator 移動式發電機", "machine", "TY-WH-BAY", "generator", 5),
            ("TY-WH-PMP", "Spare pump 備用泵", "machine", "TY-WH-BAY", "pump", 4),
        ];
        foreach (var node in store)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO assets (code, name, kind, parent_id, asset_type, location, criticality, installed_on)
                VALUES (@Code, @Name, @Kind, (SELECT id FROM assets WHERE code = @Parent), @Type, 'TY', @Criticality, '2021-03-01')
                ON CONFLICT (code) DO NOTHING
                """,
                new { node.Code, node.Name, node.Kind, node.Parent, node.Type, node.Criticality },
                cancellationToken: cancellationToken));
        }

        var people = (await connection.QueryAsync<(string UserName, long Id, string Role, long? DepartmentId)>(new CommandDefinition(
            "SELECT user_name, id, role, department_id FROM users WHERE user_name IN ('planner', 'technician', 'lin')", cancellationToken: cancellationToken)))
            .ToDictionary(u => u.UserName, u => new Actor(u.Id, u.UserName, WireNames.Parse<Role>(u.Role), u.DepartmentId));
        var ids = (await connection.QueryAsync<(string Code, long Id)>(new CommandDefinition(
            "SELECT code, id FROM assets WHERE code LIKE 'TY-WH%'", cancellationToken: cancellationToken))).ToDictionary(a => a.Code, a => a.Id);
        if (!people.TryGetValue("planner", out var planner) || !people.TryGetValue("technician", out var technician) || !people.TryGetValue("lin", out var lin))
        {
            return;
        }

        var stocktakes = new Stocktakes(dataSource, new AssetRegister(dataSource, clock), new CreateWorkOrder(dataSource, clock), clock, Options.Create(new TicketingOptions()));
        var finished = await CountAsync(stocktakes, new NewStocktakeRequest(Guid.NewGuid(), ids["TY-WH"], technician.UserId, FinishedStocktakeNote), planner, cancellationToken);
        long Item(StocktakeDetail d, string code) => d.Items.Single(i => i.AssetId == ids[code]).Id;
        long Stop(StocktakeDetail d, string code) => d.Stops.Single(s => s.LocationId == ids[code]).Id;
        Check(await stocktakes.ConfirmStopAsync(finished.Summary.Id, new ConfirmStopRequest(Guid.NewGuid(), Stop(finished, "TY-WH"), ConfirmMethod.Typed, "TY-WH"), technician, cancellationToken));
        Check(await stocktakes.MarkAsync(finished.Summary.Id, new MarkItemRequest(Guid.NewGuid(), Item(finished, "TY-WH-FL1"), ItemOutcome.Found, AssetCondition.Good), technician, cancellationToken));
        Check(await stocktakes.MarkAsync(
            finished.Summary.Id,
            new MarkItemRequest(Guid.NewGuid(), Item(finished, "TY-WH-WLD"), ItemOutcome.Elsewhere, AssetCondition.Fair, ids["TY-WH-BAY"], Note: "Left in the repair bay 留在維修區"),
            technician,
            cancellationToken));
        Check(await stocktakes.ConfirmStopAsync(finished.Summary.Id, new ConfirmStopRequest(Guid.NewGuid(), Stop(finished, "TY-WH-BAY"), ConfirmMethod.Typed, "TY-WH-BAY"), technician, cancellationToken));
        Check(await stocktakes.MarkAsync(finished.Summary.Id, new MarkItemRequest(Guid.NewGuid(), Item(finished, "TY-WH-PMP"), ItemOutcome.Found, AssetCondition.Poor), technician, cancellationToken));
        Check(await stocktakes.AddUnexpectedAsync(
            finished.Summary.Id, new AddUnexpectedRequest(Guid.NewGuid(), Stop(finished, "TY-WH-BAY"), Description: "Pallet jack, yellow 黃色油壓拖板車", Condition: AssetCondition.Good),
            technician,
            cancellationToken));
        Check(await stocktakes.CloseAsync(finished.Summary.Id, new CloseStocktakeRequest(Guid.NewGuid()), technician, cancellationToken));

        var open = await CountAsync(stocktakes, new NewStocktakeRequest(Guid.NewGuid(), ids["TY-WH"], lin.UserId, OpenStocktakeNote), planner, cancellationToken);
        Check(await stocktakes.MarkAsync(open.Summary.Id, new MarkItemRequest(Guid.NewGuid(), Item(open, "TY-WH-FL1"), ItemOutcome.Found, AssetCondition.Good), lin, cancellationToken));
    }

    private static async Task<StocktakeDetail> CountAsync(Stocktakes stocktakes, NewStocktakeRequest request, Actor planner, CancellationToken cancellationToken)
    {
        var created = Check(await stocktakes.CreateAsync(request, planner, cancellationToken));
        return Check(await stocktakes.GetAsync(created.Stocktake.Id, cancellationToken));
    }

    private static T Check<T>(Outcome<T> outcome) =>
        outcome.Failure is { } failure ? throw new InvalidOperationException($"demo stocktake: {failure.Message}") : outcome.Value!;
}
