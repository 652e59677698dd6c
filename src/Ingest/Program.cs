namespace WorkOrders.Ingest;

/// <summary>The command-line entry; a named class so it does not collide with the dashboard's Program.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => Cli.RunAsync(args);
}
