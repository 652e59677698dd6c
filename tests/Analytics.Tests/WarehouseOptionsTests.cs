using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace WorkOrders.Analytics.Tests;

public sealed class WarehouseOptionsTests
{
    [Theory]
    [InlineData("Warehouse:Path", " ", "Warehouse:Path is required")]
    [InlineData("Warehouse:BusinessDayStart", "18:00:00", "Warehouse:BusinessDayStart (18:00:00) must be before Warehouse:BusinessDayEnd")]
    [InlineData("Warehouse:BusinessDayEnd", "1.02:00:00", "Warehouse:BusinessDayStart (08:00:00) must be before Warehouse:BusinessDayEnd (1.02:00:00)")]
    [InlineData("Warehouse:TimeZone", "Mars/Olympus_Mons", "Warehouse:TimeZone 'Mars/Olympus_Mons' is not a known IANA time zone")]
    [InlineData("Warehouse:TimeZone", "Taipei Standard Time", "Warehouse:TimeZone 'Taipei Standard Time' is not a known IANA time zone")]
    public async Task warehouse_settings_that_cannot_work_refuse_the_start_naming_the_setting(string setting, string value, string message)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection([new(setting, value)]);
        builder.AddAnalytics();
        using var host = builder.Build();

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task the_default_warehouse_settings_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.AddAnalytics();
        using var host = builder.Build();

        await host.StartAsync();
        await host.StopAsync();
    }
}
