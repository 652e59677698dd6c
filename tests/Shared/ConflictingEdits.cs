using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Npgsql;

namespace WorkOrders.Tests;

/// <summary>A client of the run: its HTTP client (bearer token set) and whether it manages the work orders' department.</summary>
public sealed record EditClient(HttpClient Http, bool Manages);

/// <summary>What a run did and what the database holds afterwards.</summary>
public sealed record EditRun(
    int Operations,
    IReadOnlyDictionary<int, int> Statuses,
    int TransportErrors,
    TimeSpan Elapsed,
    IReadOnlyList<string> Problems)
{
    public int Count(Func<int, bool> which) => Statuses.Where(s => which(s.Key)).Sum(s => s.Value);

    public string Describe() =>
        $"{Operations:N0} operations in {Elapsed.TotalSeconds:F1} s ({Operations / Elapsed.TotalSeconds:N0}/s): " +
        $"2xx {Count(s => s is >= 200 and < 300):N0}, 409 {Count(s => s == 409):N0}, 422 {Count(s => s == 422):N0}, " +
        $"5xx {Count(s => s >= 500):N0}, other {Count(s => s is < 200 or (>= 300 and < 500 and not 409 and not 422)):N0}, " +
        $"transport errors {TransportErrors}; {Problems.Count} lost, duplicated or unexpected";
}

/// <summary>
/// Many clients doing conflicting work on a small shared set of work orders through the HTTP API: comments and
/// attachments marked with a text the client makes, lifecycle transitions and reassignments guarded by the row
/// version, and reads. Afterwards every acknowledged change must be in the database exactly once and nothing refused
/// may be; every answer must be a 2xx, a 409 (someone changed it first) or a 422 (no longer legal from its status).
/// Shared by the test (a short run) and the bench command (the long one).
/// </summary>
public static class ConflictingEdits
{
    private static readonly string[] Kinds = ["assign", "start", "hold", "resume", "resolve", "reject", "reassign"];

    public static async Task<EditRun> RunAsync(
        NpgsqlDataSource data, IReadOnlyList<EditClient> clients, IReadOnlyList<long> workOrders, IReadOnlyList<long> assignees,
        int operationsPerClient, string runId, CancellationToken cancellationToken)
    {
        var statuses = new ConcurrentDictionary<int, int>();
        var comments = new ConcurrentBag<(long WorkOrder, string Marker, bool Acknowledged)>();
        var attachments = new ConcurrentBag<(long WorkOrder, string Marker, bool Acknowledged)>();
        var changes = new ConcurrentDictionary<long, int>();
        var problems = new ConcurrentBag<string>();
        var transport = 0;
        var eventsBefore = await EventCountsAsync(data, workOrders, cancellationToken);

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(clients.Select((client, c) => Task.Run(async () =>
        {
            var random = new Random(c);
            for (var i = 0; i < operationsPerClient; i++)
            {
                var workOrder = workOrders[random.Next(workOrders.Count)];
                var marker = $"{runId}-{c}-{i}";
                try
                {
                    var status = random.Next(client.Manages ? 10 : 6) switch
                    {
                        0 or 1 => await CommentAsync(client, workOrder, marker, comments, cancellationToken),
                        2 => await AttachAsync(client, workOrder, marker, attachments, cancellationToken),
                        3 or 4 or 5 => await ReadAsync(client, workOrder, cancellationToken),
                        6 => await ReassignAsync(client, workOrder, assignees, changes, cancellationToken),
                        _ => await TransitionAsync(client, workOrder, assignees, random, changes, cancellationToken),
                    };
                    statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                    if (status is not ((>= 200 and < 300) or 409 or 422))
                    {
                        problems.Add($"client {c} operation {i} on {workOrder}: answered {status}");
                    }
                }
                catch (HttpRequestException e)
                {
                    Interlocked.Increment(ref transport);
                    problems.Add($"client {c} operation {i}: {e.Message}");
                }
            }
        }, cancellationToken)));
        clock.Stop();

        await CheckAsync(data, "comments", "SELECT body FROM comments WHERE body LIKE @prefix", comments, runId, problems, cancellationToken);
        await CheckAsync(data, "attachments", "SELECT file_name FROM attachments WHERE file_name LIKE @prefix", attachments, runId, problems, cancellationToken);
        var eventsAfter = await EventCountsAsync(data, workOrders, cancellationToken);
        foreach (var workOrder in workOrders)
        {
            var stored = eventsAfter.GetValueOrDefault(workOrder) - eventsBefore.GetValueOrDefault(workOrder);
            var acknowledged = changes.GetValueOrDefault(workOrder);
            if (stored != acknowledged)
            {
                problems.Add($"work order {workOrder}: {acknowledged} transitions and reassignments acknowledged, {stored} in its history");
            }
        }

        return new EditRun(clients.Count * operationsPerClient, statuses, transport, clock.Elapsed, [.. problems]);
    }

    private static async Task<int> CommentAsync(EditClient client, long workOrder, string marker, ConcurrentBag<(long, string, bool)> log, CancellationToken cancellationToken)
    {
        using var response = await client.Http.PostAsJsonAsync($"/api/v1/work-orders/{workOrder}/comments", new { body = marker }, cancellationToken);
        log.Add((workOrder, marker, response.IsSuccessStatusCode));
        return (int)response.StatusCode;
    }

    private static async Task<int> AttachAsync(EditClient client, long workOrder, string marker, ConcurrentBag<(long, string, bool)> log, CancellationToken cancellationToken)
    {
        var file = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes($"reading taken by {marker}\n"));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var form = new MultipartFormDataContent { { file, "file", marker + ".txt" } };
        using var response = await client.Http.PostAsync($"/api/v1/work-orders/{workOrder}/attachments", form, cancellationToken);
        log.Add((workOrder, marker + ".txt", response.IsSuccessStatusCode));
        return (int)response.StatusCode;
    }

    private static async Task<int> ReadAsync(EditClient client, long workOrder, CancellationToken cancellationToken)
    {
        using var response = await client.Http.GetAsync($"/api/v1/work-orders/{workOrder}", cancellationToken);
        return (int)response.StatusCode;
    }

    private static async Task<(string Status, int RowVersion, long? AssigneeId)?> CurrentAsync(EditClient client, long workOrder, CancellationToken cancellationToken)
    {
        using var response = await client.Http.GetAsync($"/api/v1/work-orders/{workOrder}", cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        var detail = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var assignee = detail.TryGetProperty("assigneeId", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetInt64() : (long?)null;
        return (detail.GetProperty("status").GetString()!, detail.GetProperty("rowVersion").GetInt32(), assignee);
    }

    /// <summary>To someone other than who it is assigned to as the client read it: asking for what already is, is the client's mistake (400).</summary>
    private static long Other(IReadOnlyList<long> assignees, long? current) => assignees.First(a => a != current);

    private static async Task<int> ReassignAsync(EditClient client, long workOrder, IReadOnlyList<long> assignees, ConcurrentDictionary<long, int> changes, CancellationToken cancellationToken)
    {
        if (await CurrentAsync(client, workOrder, cancellationToken) is not { } current)
        {
            return 404;
        }

        var assignee = Other(assignees, current.AssigneeId);
        using var response = await client.Http.PostAsJsonAsync(
            $"/api/v1/work-orders/{workOrder}/reassign", new { assigneeId = assignee, reason = "covering a shift", rowVersion = current.RowVersion }, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            changes.AddOrUpdate(workOrder, 1, (_, n) => n + 1);
        }

        return (int)response.StatusCode;
    }

    /// <summary>A step that keeps the work order cycling (never closed or cancelled), sent with the version it read, or one a moment late.</summary>
    private static async Task<int> TransitionAsync(EditClient client, long workOrder, IReadOnlyList<long> assignees, Random random, ConcurrentDictionary<long, int> changes, CancellationToken cancellationToken)
    {
        if (await CurrentAsync(client, workOrder, cancellationToken) is not { } current)
        {
            return 404;
        }

        var assignee = Other(assignees, current.AssigneeId);
        object body = current.Status switch
        {
            "new" or "assigned" when random.Next(2) == 0 => new { action = "assign", assigneeId = assignee, rowVersion = current.RowVersion },
            "assigned" => new { action = "start", rowVersion = current.RowVersion },
            "in_progress" => random.Next(3) switch
            {
                0 => new { action = "hold", note = "waiting for a part", rowVersion = current.RowVersion },
                1 => new { action = "resolve", note = "fixed", rowVersion = current.RowVersion },
                _ => new { action = "start", rowVersion = current.RowVersion },
            },
            "on_hold" or "awaiting_feedback" or "needs_collaboration" => new { action = "resume", rowVersion = current.RowVersion },
            "resolved" => new { action = "reject", note = "still leaking", rowVersion = current.RowVersion },
            _ => new { action = "assign", assigneeId = assignee, rowVersion = current.RowVersion },
        };
        using var response = await client.Http.PostAsJsonAsync($"/api/v1/work-orders/{workOrder}/transitions", body, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            changes.AddOrUpdate(workOrder, 1, (_, n) => n + 1);
        }

        return (int)response.StatusCode;
    }

    private static async Task CheckAsync(
        NpgsqlDataSource data, string what, string sql, ConcurrentBag<(long WorkOrder, string Marker, bool Acknowledged)> log, string runId, ConcurrentBag<string> problems, CancellationToken cancellationToken)
    {
        await using var connection = await data.OpenConnectionAsync(cancellationToken);
        var stored = (await connection.QueryAsync<string>(new CommandDefinition(sql, new { prefix = runId + "-%" }, cancellationToken: cancellationToken)))
            .GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (_, marker, acknowledged) in log)
        {
            var count = stored.GetValueOrDefault(marker);
            if (acknowledged ? count != 1 : count != 0)
            {
                problems.Add($"{what} {marker}: {(acknowledged ? "acknowledged" : "refused")}, stored {count.ToString(CultureInfo.InvariantCulture)} time(s)");
            }
        }

        if (stored.Count != log.Count(l => l.Acknowledged))
        {
            problems.Add($"{what}: {log.Count(l => l.Acknowledged)} acknowledged, {stored.Count} distinct stored");
        }
    }

    private static async Task<Dictionary<long, int>> EventCountsAsync(NpgsqlDataSource data, IReadOnlyList<long> workOrders, CancellationToken cancellationToken)
    {
        await using var connection = await data.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(long, int)>(new CommandDefinition(
            "SELECT work_order_id, count(*)::int FROM work_order_events WHERE work_order_id = ANY(@ids) AND kind = ANY(@kinds) GROUP BY work_order_id",
            new { ids = workOrders.ToArray(), kinds = Kinds },
            cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.Item1, r => r.Item2);
    }
}
