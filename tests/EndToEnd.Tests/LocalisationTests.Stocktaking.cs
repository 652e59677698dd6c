using WorkOrders.Tests;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;
using WorkOrders.Ticketing.Stocktaking;
using WorkOrders.Ticketing.WorkOrders;

namespace WorkOrders.EndToEnd.Tests;

public sealed partial class LocalisationTests
{
    /// <summary>A stocktake of the org's site, counted by its technician, with its machine found: the stocktaking pages have rows to show.</summary>
    private async Task<long> StocktakeAsync(TestOrg org)
    {
        var clock = TimeProvider.System;
        var stocktakes = new Stocktakes(
            Database.DataSource, new AssetRegister(Database.DataSource, clock), new CreateWorkOrder(Database.DataSource, clock), clock,
            Microsoft.Extensions.Options.Options.Create(new TicketingOptions()));
        var created = await stocktakes.CreateAsync(new NewStocktakeRequest(Guid.NewGuid(), org.SiteId, org[Role.Technician].UserId), org[Role.Planner], CancellationToken.None);
        var id = created.Value!.Stocktake.Id;
        var item = (await stocktakes.GetAsync(id, CancellationToken.None)).Value!.Items.Single(i => i.AssetId == org.MachineId);
        await stocktakes.MarkAsync(id, new MarkItemRequest(Guid.NewGuid(), item.Id, ItemOutcome.Found, AssetCondition.Good), org[Role.Technician], CancellationToken.None);
        return id;
    }
}
