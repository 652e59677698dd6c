using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Forecasts;
using WorkOrders.Ticketing.WorkOrders;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests;

/// <summary>Forecast proposals against a real PostgreSQL database: publishing, accepting once, dismissing for good.</summary>
public class ProposalTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 5, 6, 7, 0, 0, TimeSpan.Zero));

    private NpgsqlDataSource Data => database.DataSource;

    private Proposals Service => new(Data, new CreateWorkOrder(Data, _clock), _clock);

    private async Task<(TestOrg Org, long TemplateId)> OrgAsync()
    {
        var org = await TestOrg.CreateAsync(Data);
        await using var connection = await Data.OpenConnectionAsync();
        var template = await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO templates (name, work_type, default_priority, department_id, asset_required, fields)
            VALUES (@name, 'preventive', 3, @department, true, '[]') RETURNING id
            """,
            new { name = $"Lubrication {org.Suffix}", department = org.DepartmentId });
        await connection.ExecuteAsync("UPDATE forecast_settings SET threshold = 0.5");
        return (org, template);
    }

    private ProposalCandidate Candidate(TestOrg org, long template, double probability = 0.8, string evidence = "e1", string? fault = "bearing") => new(
        org.MachineId, fault, probability, _clock.GetUtcNow().UtcDateTime.AddDays(3), _clock.GetUtcNow().UtcDateTime.AddDays(30),
        ["3 bearing faults in 30 days", "41 days since last preventive work"], template, 2.5, evidence, "v1");

    private async Task<Proposal> OpenProposalAsync(TestOrg org) =>
        Assert.Single((await Service.ListAsync(new ProposalQuery(), CancellationToken.None)).Value!.Items, p => p.AssetId == org.MachineId);

    [Fact]
    public async Task two_instances_publishing_the_same_forecast_at_once_leave_one_open_proposal_per_asset_and_fault()
    {
        var (org, template) = await OrgAsync();
        // Two processes: each its own pool of connections to the one database.
        await using var second = NpgsqlDataSource.Create(database.ConnectionString);
        var instances = new[] { Service, new Proposals(second, new CreateWorkOrder(second, _clock), _clock) };
        ProposalCandidate[] candidates = [Candidate(org, template), Candidate(org, template, 0.7, fault: "leak"), Candidate(org, template, 0.6, fault: null)];

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => instances[i % 2].PublishAsync(candidates, CancellationToken.None))));

        Assert.Equal(3, results.Sum(r => r.Created));
        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(
            [("", 1L), ("bearing", 1L), ("leak", 1L)],
            (await connection.QueryAsync<(string, long)>(
                "SELECT coalesce(fault_code, ''), count(*) FROM forecast_proposals WHERE asset_id = @MachineId AND status = 'open' GROUP BY 1 ORDER BY 1",
                new { org.MachineId })).ToList());
    }

    [Fact]
    public async Task a_candidate_above_the_threshold_becomes_one_open_proposal_and_a_rerun_refreshes_it()
    {
        var (org, template) = await OrgAsync();

        var first = await Service.PublishAsync([Candidate(org, template), Candidate(org, template, 0.3, fault: "leak")], CancellationToken.None);
        var again = await Service.PublishAsync([Candidate(org, template, 0.9, "e2")], CancellationToken.None);

        Assert.Equal(1, first.Created);
        Assert.Equal(1, again.Updated);
        var proposal = await OpenProposalAsync(org);
        Assert.Equal(0.9, proposal.Probability);
        Assert.Equal(0.9 * 3, proposal.Risk, 6);
        Assert.Equal(["3 bearing faults in 30 days", "41 days since last preventive work"], proposal.Reasons);
    }

    [Fact]
    public async Task accepting_twice_at_once_creates_exactly_one_preventive_work_order_from_the_forecast()
    {
        var (org, template) = await OrgAsync();
        await Service.PublishAsync([Candidate(org, template)], CancellationToken.None);
        var proposal = await OpenProposalAsync(org);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Service.AcceptAsync(proposal.Id, org[Role.Planner], CancellationToken.None)));

        var accepted = Assert.Single(outcomes, o => o.Succeeded).Value!;
        Assert.All(outcomes.Where(o => !o.Succeeded), o => Assert.Equal(FailureKind.Conflict, o.Failure!.Kind));
        await using var connection = await Data.OpenConnectionAsync();
        var work = await connection.QuerySingleAsync<(string Source, string WorkType, long AssetId, string Reference)>(
            "SELECT source, work_type, asset_id, reference FROM work_orders WHERE id = @id", new { id = accepted.WorkOrderId });
        Assert.Equal(("forecast", "preventive", org.MachineId, $"forecast-proposal-{proposal.Id}"), work);
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM work_orders WHERE reference = @r", new { r = $"forecast-proposal-{proposal.Id}" }));
        var stored = await Service.FindAsync(proposal.Id, CancellationToken.None);
        Assert.Equal(("accepted", accepted.WorkOrderId), (stored!.Status, stored.WorkOrderId!.Value));
    }

    [Fact]
    public async Task an_open_preventive_work_order_covers_the_asset_and_the_proposal_expires()
    {
        var (org, template) = await OrgAsync();
        await Service.PublishAsync([Candidate(org, template)], CancellationToken.None);
        var proposal = await OpenProposalAsync(org);
        await Service.AcceptAsync(proposal.Id, org[Role.Planner], CancellationToken.None);

        var rerun = await Service.PublishAsync([Candidate(org, template, evidence: "e9")], CancellationToken.None);

        Assert.Equal(1, rerun.Covered);
        Assert.Equal(0, rerun.Created);
    }

    [Fact]
    public async Task a_dismissed_proposal_does_not_come_back_for_the_same_evidence_but_does_for_new_evidence()
    {
        var (org, template) = await OrgAsync();
        await Service.PublishAsync([Candidate(org, template)], CancellationToken.None);
        var proposal = await OpenProposalAsync(org);

        var dismissed = await Service.DismissAsync(proposal.Id, new DismissRequest("already_planned", "Overhaul next week"), org[Role.Planner], CancellationToken.None);
        var same = await Service.PublishAsync([Candidate(org, template)], CancellationToken.None);
        var fresh = await Service.PublishAsync([Candidate(org, template, evidence: "e2")], CancellationToken.None);

        Assert.Equal(("dismissed", "already_planned", "Overhaul next week"), (dismissed.Value!.Status, dismissed.Value.DismissReason, dismissed.Value.DismissNote));
        Assert.Equal((0, 1), (same.Created, same.DismissedBefore));
        Assert.Equal(1, fresh.Created);
        var accepted = await Service.AcceptAsync(proposal.Id, org[Role.Planner], CancellationToken.None);
        Assert.Equal(FailureKind.Conflict, accepted.Failure!.Kind);
    }

    [Fact]
    public async Task an_expired_proposal_is_refused_with_a_conflict_and_creates_nothing()
    {
        var (org, template) = await OrgAsync();
        await Service.PublishAsync([Candidate(org, template)], CancellationToken.None);
        var proposal = await OpenProposalAsync(org);
        _clock.Advance(Proposals.Lifetime + TimeSpan.FromMinutes(1));

        var outcome = await Service.AcceptAsync(proposal.Id, org[Role.Planner], CancellationToken.None);

        Assert.Equal(FailureKind.Conflict, outcome.Failure!.Kind);
        Assert.Contains("expired", outcome.Failure.Message, StringComparison.Ordinal);
        Assert.Equal("expired", (await Service.FindAsync(proposal.Id, CancellationToken.None))!.Status);
        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM work_orders WHERE reference = @r", new { r = $"forecast-proposal-{proposal.Id}" }));
    }

    [Theory]
    [InlineData(null, null, "reason")]
    [InlineData("because", null, "reason")]
    [InlineData("other", " ", "note")]
    public async Task a_dismissal_without_a_known_reason_or_the_note_that_other_needs_is_refused_by_field(string? reason, string? note, string field)
    {
        var (org, template) = await OrgAsync();
        await Service.PublishAsync([Candidate(org, template)], CancellationToken.None);
        var proposal = await OpenProposalAsync(org);

        var outcome = await Service.DismissAsync(proposal.Id, new DismissRequest(reason, note), org[Role.Planner], CancellationToken.None);

        Assert.True(outcome.Failure!.Errors!.ContainsKey(field));
        Assert.Equal("open", (await Service.FindAsync(proposal.Id, CancellationToken.None))!.Status);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.2)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public async Task a_threshold_outside_zero_to_one_is_refused_and_the_stored_one_kept(double threshold)
    {
        var (org, _) = await OrgAsync();

        var outcome = await Service.SetThresholdAsync(new ThresholdRequest(threshold), org[Role.Planner], CancellationToken.None);

        Assert.True(outcome.Failure!.Errors!.ContainsKey("threshold"));
        Assert.Equal(0.5, await Service.ThresholdAsync(CancellationToken.None));
    }

    [Fact]
    public async Task only_planners_and_administrators_decide()
    {
        var (org, template) = await OrgAsync();
        await Service.PublishAsync([Candidate(org, template)], CancellationToken.None);
        var proposal = await OpenProposalAsync(org);

        var outcome = await Service.AcceptAsync(proposal.Id, org[Role.Technician], CancellationToken.None);

        Assert.Equal(FailureKind.Forbidden, outcome.Failure!.Kind);
        Assert.Equal("open", (await Service.FindAsync(proposal.Id, CancellationToken.None))!.Status);
    }
}
