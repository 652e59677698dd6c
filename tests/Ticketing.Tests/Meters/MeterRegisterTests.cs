using Dapper;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Meters;
using WorkOrders.Tests;

namespace WorkOrders.Ticketing.Tests.Meters;

/// <summary>Meters and readings against a real PostgreSQL database.</summary>
public class MeterRegisterTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly DateTime Start = new(2026, 5, 6, 7, 0, 0, DateTimeKind.Utc);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(Start.AddDays(10)));

    private NpgsqlDataSource Data => database.DataSource;

    private MeterRegister Register => new(Data, _clock);

    private async Task<(TestOrg Org, Meter Meter)> MeterAsync(string name = "run hours")
    {
        var org = await TestOrg.CreateAsync(Data);
        var meter = await Register.AddAsync(org.MachineId, new MeterRequest(name, "h"), org[Role.Planner], CancellationToken.None);
        Assert.True(meter.Succeeded, meter.Failure?.Message);
        return (org, meter.Value!);
    }

    private static ReadingEntry Entry(Meter meter, int hour, decimal value, string? reset = null) =>
        new(meter.Id, Start.AddHours(hour), value, reset is not null, reset);

    [Fact]
    public async Task a_meter_takes_any_unit_and_its_name_is_unique_on_the_asset()
    {
        var (org, meter) = await MeterAsync("運轉時數");

        var same = await Register.AddAsync(org.MachineId, new MeterRequest(" 運轉時數 ", "小時"), org[Role.Admin], CancellationToken.None);
        var renamed = await Register.RenameAsync(meter.Id, new MeterRequest("Spindle hours", "轉/分"), org[Role.Admin], CancellationToken.None);
        var byTechnician = await Register.AddAsync(org.MachineId, new MeterRequest("cycles", "cycles"), org[Role.Technician], CancellationToken.None);

        Assert.Equal("meter.name_taken", same.Failure!.Errors!["name"][0].Code);
        Assert.Equal(("Spindle hours", "轉/分"), (renamed.Value!.Name, renamed.Value.Unit));
        Assert.Equal(FailureKind.Forbidden, byTechnician.Failure!.Kind);
        Assert.Equal(FailureKind.NotFound, (await Register.ListAsync(long.MaxValue, CancellationToken.None)).Failure!.Kind);
    }

    [Fact]
    public async Task a_batch_is_stored_in_time_order_with_lifetime_over_a_reset_and_the_list_shows_the_latest()
    {
        var (org, meter) = await MeterAsync();

        var outcome = await Register.RecordAsync(
            [Entry(meter, 2, 150m), Entry(meter, 0, 100m), Entry(meter, 3, 20m, "meter replaced"), Entry(meter, 4, 30m)],
            org[Role.Technician], ReadingSource.Api, CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Failure?.Message);
        Assert.Equal([50m, 0m, 70m, 80m], outcome.Value!.Select(r => r.Reading.Lifetime));
        var listed = Assert.Single((await Register.ListAsync(org.MachineId, CancellationToken.None)).Value!);
        Assert.Equal((30m, 80m, Start.AddHours(4)), (listed.LatestValue!.Value, listed.Lifetime!.Value, listed.LatestReadAt!.Value));
        var page = (await Register.ReadingsAsync(meter.Id, 1, 2, CancellationToken.None)).Value!;
        Assert.Equal(4, page.Count);
        Assert.Equal([20m, 150m], page.Items.Select(r => r.Value));
        Assert.Equal("meter replaced", page.Items[0].ResetReason);
    }

    [Fact]
    public async Task a_backwards_reading_refuses_the_whole_batch_naming_the_entry()
    {
        var (org, meter) = await MeterAsync();
        await Register.RecordAsync(Entry(meter, 0, 100m), org[Role.Technician], ReadingSource.Web, CancellationToken.None);

        var outcome = await Register.RecordAsync([Entry(meter, 1, 120m), Entry(meter, 2, 90m)], org[Role.Technician], ReadingSource.Api, CancellationToken.None);

        Assert.Equal("meter.reading_backwards", Assert.Single(outcome.Failure!.Errors!["readings[1].value"]).Code);
        Assert.Equal(1, (await Register.ReadingsAsync(meter.Id, 0, 10, CancellationToken.None)).Value!.Count);
    }

    [Fact]
    public async Task a_retried_batch_stores_nothing_more_and_returns_the_stored_readings()
    {
        var (org, meter) = await MeterAsync();
        ReadingEntry[] batch = [Entry(meter, 0, 100m), Entry(meter, 1, 110m), Entry(meter, 2, 5m, "rolled over")];

        var first = await Register.RecordAsync(batch, org[Role.Technician], ReadingSource.Api, CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(1));
        var retry = await Register.RecordAsync(batch, org[Role.Technician], ReadingSource.Api, CancellationToken.None);

        Assert.All(first.Value!, r => Assert.True(r.Created));
        Assert.All(retry.Value!, r => Assert.False(r.Created));
        Assert.Equal(first.Value!.Select(r => r.Reading.Id), retry.Value!.Select(r => r.Reading.Id));
        Assert.Equal(3, (await Register.ReadingsAsync(meter.Id, 0, 10, CancellationToken.None)).Value!.Count);
    }

    [Fact]
    public async Task a_retry_whose_time_is_finer_than_a_microsecond_finds_the_stored_reading()
    {
        var (org, meter) = await MeterAsync();
        var entry = new ReadingEntry(meter.Id, Start.AddTicks(1_234_567), 100.5m);

        var first = await Register.RecordAsync(entry, org[Role.Technician], ReadingSource.Api, CancellationToken.None);
        var retry = await Register.RecordAsync(entry with { Value = 100.500m }, org[Role.Technician], ReadingSource.Api, CancellationToken.None);

        Assert.True(retry.Succeeded, retry.Failure?.Message);
        Assert.False(retry.Value!.Created);
        Assert.Equal(first.Value!.Reading.Id, retry.Value.Reading.Id);
    }

    [Fact]
    public async Task two_clients_sending_the_same_readings_at_once_store_each_once()
    {
        var (org, meter) = await MeterAsync();
        var other = new MeterRegister(Data, _clock);

        for (var round = 0; round < 20; round++)
        {
            var entry = Entry(meter, round, 100m + round);
            var both = await Task.WhenAll(
                Task.Run(() => Register.RecordAsync(entry, org[Role.Technician], ReadingSource.Field, CancellationToken.None)),
                Task.Run(() => other.RecordAsync(entry, org.OtherTechnician, ReadingSource.Web, CancellationToken.None)));

            Assert.All(both, o => Assert.True(o.Succeeded, o.Failure?.Message));
            Assert.Equal(1, both.Count(o => o.Value!.Created));
            Assert.Equal(both[0].Value!.Reading.Id, both[1].Value!.Reading.Id);
        }

        await using var connection = await Data.OpenConnectionAsync();
        Assert.Equal(20, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM meter_readings WHERE meter_id = @id", new { id = meter.Id }));
        Assert.Equal(19m, await connection.ExecuteScalarAsync<decimal>("SELECT max(lifetime) FROM meter_readings WHERE meter_id = @id", new { id = meter.Id }));
    }

    [Fact]
    public async Task a_new_reading_brings_forward_the_check_of_plans_triggered_by_that_meter_only()
    {
        var (org, meter) = await MeterAsync("run hours");
        var later = Start.AddDays(40);
        await using var connection = await Data.OpenConnectionAsync();
        async Task<long> PlanAsync(string name, string triggerSql)
        {
            var plan = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO pm_plans (name, template_id, asset_id, estimated_hours, created_at, updated_at)
                VALUES (@name, @template, @asset, 1, @now, @now) RETURNING id
                """,
                new { name = $"{name} {org.Suffix}", template = org.TemplateId, asset = org.MachineId, now = Start });
            await connection.ExecuteAsync($"INSERT INTO pm_triggers (plan_id, {triggerSql}", new { plan });
            await connection.ExecuteAsync(
                "INSERT INTO pm_schedules (plan_id, asset_id, next_check_at) VALUES (@plan, @asset, @later)", new { plan, asset = org.MachineId, later });
            return plan;
        }

        var byHours = await PlanAsync("hours", "kind, meter_name, every_units) VALUES (@plan, 'meter', 'run hours', 500)");
        var byCycles = await PlanAsync("cycles", "kind, meter_name, threshold) VALUES (@plan, 'meter', 'cycles', 1000)");
        var monthly = await PlanAsync("monthly", "kind, every_n, unit, anchor, at_time, schedule) VALUES (@plan, 'calendar', 1, 'month', '2026-01-01', '08:00', 'fixed')");
        async Task<DateTime> NextCheckAsync(long plan) =>
            await connection.ExecuteScalarAsync<DateTime>("SELECT next_check_at FROM pm_schedules WHERE plan_id = @plan", new { plan });

        await Register.RecordAsync(Entry(meter, 0, 100m), org[Role.Technician], ReadingSource.Web, CancellationToken.None);

        var now = _clock.GetUtcNow().UtcDateTime;
        Assert.Equal(now, await NextCheckAsync(byHours));
        Assert.Equal(later, await NextCheckAsync(byCycles));
        Assert.Equal(later, await NextCheckAsync(monthly));

        // A retry stores nothing and nudges nothing; an earlier check time is kept.
        await connection.ExecuteAsync("UPDATE pm_schedules SET next_check_at = @later WHERE plan_id = @byHours", new { later, byHours });
        await Register.RecordAsync(Entry(meter, 0, 100m), org[Role.Technician], ReadingSource.Web, CancellationToken.None);
        Assert.Equal(later, await NextCheckAsync(byHours));
        var earlier = now.AddDays(-1);
        await connection.ExecuteAsync("UPDATE pm_schedules SET next_check_at = @earlier WHERE plan_id = @byHours", new { earlier, byHours });
        await Register.RecordAsync(Entry(meter, 1, 110m), org[Role.Technician], ReadingSource.Web, CancellationToken.None);
        Assert.Equal(earlier, await NextCheckAsync(byHours));
    }
}
