using Microsoft.AspNetCore.Components;
using WorkOrders.Analytics;
using WorkOrders.Analytics.Kpis;
using WorkOrders.Analytics.Warehouse;
using WorkOrders.Dashboard.Api;
using WorkOrders.Dashboard.Components.Shared;
using WorkOrders.Dashboard.Localization;
using WorkOrders.Ticketing;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Assets;

namespace WorkOrders.Dashboard.Components.Pages.Analytics;

/// <summary>
/// What the analytics pages share: the filter in the address (the API's parameter names, so a page and its export
/// link agree), parsed with the API's rules (a manager gets their own department), and warehouse queries run once per
/// change of filter, off the circuit, never while prerendering. A query stops in DuckDB when the page is left or a
/// newer load of the same part replaces it.
/// </summary>
public abstract class AnalyticsPage : CircuitComponent
{
    private readonly Dictionary<string, CancellationTokenSource> _parts = new(StringComparer.Ordinal);
    private KpiFilter? _loaded;
    private CancellationTokenSource? _load;

    [Inject]
    protected WarehouseAnalytics Analytics { get; set; } = default!;

    [Inject]
    protected NavigationManager Navigation { get; set; } = default!;

    [Inject]
    protected Users Users { get; set; } = default!;

    [Inject]
    protected AssetRegister AssetRegister { get; set; } = default!;

    [SupplyParameterFromQuery(Name = "from")]
    public string? From { get; set; }

    [SupplyParameterFromQuery(Name = "to")]
    public string? To { get; set; }

    [SupplyParameterFromQuery(Name = "siteId")]
    public long? SiteId { get; set; }

    [SupplyParameterFromQuery(Name = "departmentId")]
    public long? DepartmentId { get; set; }

    [SupplyParameterFromQuery(Name = "assetId")]
    public long? AssetId { get; set; }

    [SupplyParameterFromQuery(Name = "workType")]
    public string? WorkType { get; set; }

    [SupplyParameterFromQuery(Name = "priority")]
    public int? Priority { get; set; }

    [SupplyParameterFromQuery(Name = "category")]
    public string? Category { get; set; }

    [SupplyParameterFromQuery(Name = "source")]
    public string? Source { get; set; }

    [SupplyParameterFromQuery(Name = "field")]
    public string? Field { get; set; }

    [SupplyParameterFromQuery(Name = "fieldValue")]
    public string? FieldValue { get; set; }

    protected FilterParameters Query => new(From, To, SiteId, DepartmentId, AssetId, WorkType, Priority, Category, Source, Field, FieldValue);

    protected Actor Me { get; private set; } = default!;

    /// <summary>The parsed filter; null while the address holds a bad one.</summary>
    protected KpiFilter? Filter { get; private set; }

    protected IReadOnlyDictionary<string, string[]>? FilterErrors { get; private set; }

    /// <summary>A manager asked for another department.</summary>
    protected bool Refused { get; private set; }

    protected bool WarehouseIsEmpty { get; private set; }

    protected bool DepartmentFixed => Me.Role == Role.Manager;

    protected IReadOnlyList<Department> Departments { get; private set; } = [];

    protected IReadOnlyList<Asset> Sites { get; private set; } = [];

    protected Asset? SelectedAsset { get; private set; }

    protected override async Task OnInitializedAsync()
    {
        Me = await ActorAsync();
        Departments = await Users.DepartmentsAsync(Aborted);
        Sites = await AssetRegister.ChildrenAsync(null, Aborted);
    }

    protected override async Task OnParametersSetAsync()
    {
        if (AssetId is { } assetId && SelectedAsset?.Id != assetId)
        {
            SelectedAsset = (await AssetRegister.GetAsync(assetId, Aborted)).Value?.Asset;
        }

        var parsed = Query.ToFilter(Me);
        Filter = parsed.Value;
        FilterErrors = parsed.Failure?.FieldTexts();
        Refused = parsed.Failure?.Kind == FailureKind.Forbidden;

        // The live circuit reads the figures, once per filter (App.razor does not prerender these pages).
        if (Filter is null || !RendererInfo.IsInteractive || Filter == _loaded)
        {
            return;
        }

        _loaded = Filter;
        _load = await ReplaceAsync(_load, Aborted);
        await LoadAsync(Filter);
    }

    /// <summary>Reads the page's figures for a new filter.</summary>
    protected abstract Task LoadAsync(KpiFilter filter);

    /// <summary>
    /// Asks the analytics service with a token that fires when the page is left, the filter changes, or (for a
    /// <paramref name="part"/> of the page reloaded on its own, such as one chart) a newer load of that part starts.
    /// Null when the warehouse is empty (the page then says so), or when the load was replaced.
    /// </summary>
    protected async Task<T?> QueryAsync<T>(Func<CancellationToken, Task<T>> query, string? part = null)
        where T : class
    {
        var filterLoad = _load?.Token ?? Aborted;
        var load = filterLoad;
        if (part is not null)
        {
            var replaced = _parts.GetValueOrDefault(part);
            _parts[part] = await ReplaceAsync(replaced, filterLoad);
            load = _parts[part].Token;
        }

        try
        {
            var result = await query(load);
            WarehouseIsEmpty = false;
            return load.IsCancellationRequested ? null : result;
        }
        catch (WarehouseEmptyException)
        {
            WarehouseIsEmpty = true;
            return null;
        }
        catch (OperationCanceledException) when (load.IsCancellationRequested)
        {
            return null;
        }
    }

    protected Task ApplyAsync(FilterParameters filter)
    {
        Navigation.NavigateTo(Navigation.GetUriWithQueryParameters(new Dictionary<string, object?>
        {
            ["from"] = filter.From,
            ["to"] = filter.To,
            ["siteId"] = filter.SiteId,
            ["departmentId"] = DepartmentFixed ? null : filter.DepartmentId,
            ["assetId"] = filter.AssetId,
            ["workType"] = filter.WorkType,
            ["priority"] = filter.Priority,
            ["category"] = filter.Category,
            ["source"] = filter.Source,
            ["field"] = filter.Field,
            ["fieldValue"] = filter.FieldValue,
        }));
        return Task.CompletedTask;
    }

    /// <summary>Sets the period to the days the warehouse holds work in.</summary>
    protected async Task AllDataAsync()
    {
        if (await QueryAsync(async token => new DataRange(await Analytics.DataRangeAsync(token))) is { Range: { } range })
        {
            await ApplyAsync(Query with { From = Figures.Day(range.First), To = Figures.Day(range.Last.AddDays(1)) });
        }
    }

    protected Task<IReadOnlyList<Asset>> SearchAssets(string? text, CancellationToken cancellationToken) =>
        AssetRegister.SearchAsync(text, AssetPicker.Take, cancellationToken);

    /// <summary>The query string of the current filter as the analytics endpoints take it (the manager's department included).</summary>
    protected string FilterQuery(KpiFilter filter)
    {
        var parts = new List<string> { $"from={Figures.Day(filter.From)}", $"to={Figures.Day(filter.To)}" };
        void Add(string name, object? value)
        {
            if (value is not null)
            {
                parts.Add($"{name}={Uri.EscapeDataString(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!)}");
            }
        }

        Add("siteId", filter.SiteId);
        Add("departmentId", filter.DepartmentId);
        Add("assetId", filter.AssetId);
        Add("workType", filter.WorkType);
        Add("priority", filter.Priority);
        Add("category", filter.Category);
        Add("source", filter.Source);
        Add("field", filter.FieldKey);
        Add("fieldValue", filter.FieldValue);
        return string.Join('&', parts);
    }

    protected override void Dispose(bool disposing)
    {
        // The base cancels Aborted first, which every load's token is linked to.
        base.Dispose(disposing);
        if (disposing)
        {
            _load?.Dispose();
            foreach (var part in _parts.Values)
            {
                part.Dispose();
            }
        }
    }

    /// <summary>Cancels a running load and starts its successor, linked to <paramref name="parent"/>.</summary>
    private static async Task<CancellationTokenSource> ReplaceAsync(CancellationTokenSource? running, CancellationToken parent)
    {
        if (running is not null)
        {
            await running.CancelAsync();
            running.Dispose();
        }

        return CancellationTokenSource.CreateLinkedTokenSource(parent);
    }

    private sealed record DataRange((DateOnly First, DateOnly Last)? Range);
}
