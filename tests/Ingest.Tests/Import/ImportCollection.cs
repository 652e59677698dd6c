namespace WorkOrders.Ingest.Tests.Import;

/// <summary>
/// The tests that import run alone, after the parallel ones. An import keeps batch transactions open for a second or
/// more, and PostgreSQL's snapshot xmin is the same for every database of the cluster: a warehouse test that ingests
/// "archived below xmin" beside it would miss its own fresh rows.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ImportCollection
{
    public const string Name = "imports, alone on the PostgreSQL cluster";
}
