using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using WorkOrders.Ticketing.Jobs;

namespace WorkOrders.Ticketing.Exports;

/// <summary>Deletes export files kept past <see cref="ExportOptions.KeepFor"/>, on the job runner; any number of instances may run it.</summary>
public sealed partial class ExportRetention(ExportJobs jobs, TimeProvider clock, IOptions<ExportOptions> options, ILogger<ExportRetention> logger)
    : BackgroundService
{
    private readonly JobRunner _runner = new("Export retention", clock, logger, e => e is NpgsqlException or TimeoutException or IOException);

    public JobRunner Runner => _runner;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        _runner.RunAsync(new JobSchedule(options.Value.RetentionInterval), RunAsync, stoppingToken);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var expired = await jobs.ExpireAsync(cancellationToken);
        if (expired > 0)
        {
            LogExpired(expired);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted the files of {Count} export(s) kept past their time")]
    private partial void LogExpired(int count);
}
