using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Xml.Linq;
using Bunit;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Radzen;
using SkiaSharp;
using WorkOrders.Dashboard.Components.Assets;
using WorkOrders.Dashboard.QrLabels;
using WorkOrders.Dashboard.Tests.Api;
using WorkOrders.Tests;
using WorkOrders.Ticketing.Access;
using WorkOrders.Ticketing.Labels;
using ZXing;
using ZXing.Common;

namespace WorkOrders.Dashboard.Tests.Components;

/// <summary>QR labels: what the code says when a phone reads it, the printed sheet of a sub-tree, and where a scan leads.</summary>
public sealed class AssetLabelsTests : BunitContext, IClassFixture<ApiHost>
{
    private readonly ApiHost _host;

    public AssetLabelsTests(ApiHost host)
    {
        _host = host;
        this.UseDashboardComponents();
        Services.AddSingleton(new AssetLabels(host.Data));
        Services.AddSingleton(Options.Create(new LabelOptions { BaseAddress = new Uri("https://plant.example/workorders/") }));
    }

    /// <summary>Reads the QR code in a picture the way a phone does: from pixels, not from what we asked QRCoder to draw.</summary>
    private static string Decode(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png);
        var luminance = new byte[bitmap.Width * bitmap.Height];
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                luminance[(y * bitmap.Width) + x] = (byte)((c.Red + c.Green + c.Blue) / 3);
            }
        }

        var source = new PlanarYUVLuminanceSource(luminance, bitmap.Width, bitmap.Height, 0, 0, bitmap.Width, bitmap.Height, false);
        var result = new ZXing.QrCode.QRCodeReader().decode(new BinaryBitmap(new HybridBinarizer(source)));
        return result?.Text ?? throw new Xunit.Sdk.XunitException("no QR code was found in the picture");
    }

    [Theory]
    [InlineData("M-0042")]
    [InlineData("泵浦 P/3")]
    public void a_label_code_reads_back_as_the_assets_address_on_the_base_address(string code)
    {
        var address = QrLabel.Address(new Uri("https://plant.example/workorders/"), code).ToString();

        Assert.Equal(address, Decode(QrLabel.Png(address)));
        Assert.StartsWith("https://plant.example/workorders/a/", address, StringComparison.Ordinal);
        Assert.Equal(code, Uri.UnescapeDataString(address[(address.LastIndexOf('/') + 1)..]));
    }

    [Fact]
    public void the_svg_is_well_formed_scales_to_its_box_and_draws_the_same_modules()
    {
        var svg = XDocument.Parse(QrLabel.Svg("https://plant.example/a/M-1"));

        var root = svg.Root!;
        Assert.Equal("svg", root.Name.LocalName);
        Assert.NotNull(root.Attribute("viewBox"));
        Assert.Null(root.Attribute("width"));
        Assert.True(root.Descendants().Count(e => e.Name.LocalName is "rect" or "path") > 0);
    }

    [Fact]
    public async Task the_sheet_has_one_label_per_asset_of_the_sub_tree_each_carrying_its_address()
    {
        using var culture = new CultureScope("en-US");
        var org = await TestOrg.CreateAsync(_host.Data);
        var auth = AddAuthorization();
        auth.SetAuthorized(org[Role.Planner].UserName);
        auth.SetClaims(new Claim(ClaimTypes.NameIdentifier, org[Role.Planner].UserId.ToString(CultureInfo.InvariantCulture)));
        long lineId;
        await using (var connection = await _host.Data.OpenConnectionAsync())
        {
            lineId = await connection.ExecuteScalarAsync<long>("SELECT parent_id FROM assets WHERE id = @id", new { id = org.MachineId });
            await connection.ExecuteAsync(
                "INSERT INTO assets (code, name, kind, parent_id) VALUES (@code, '軸承 bearing', 'component', @machine)", new { code = $"C-{org.Suffix}", machine = org.MachineId });
        }

        var page = Render<AssetLabelsPage>(p => p.Add(c => c.Id, lineId));
        page.WaitForState(() => page.FindAll("[data-testid=asset-label]").Count > 0);

        var labels = page.FindAll("[data-testid=asset-label]");
        Assert.Equal([$"L-{org.Suffix}", $"M-{org.Suffix}", $"C-{org.Suffix}"], labels.Select(l => l.GetAttribute("data-code")));
        Assert.Equal($"https://plant.example/workorders/a/M-{org.Suffix}", labels[1].GetAttribute("data-url"));
        Assert.Contains("軸承 bearing", labels[2].TextContent, StringComparison.Ordinal);
        Assert.All(labels, l => Assert.NotNull(l.QuerySelector(".qr svg")));
        Assert.Contains("3 labels", page.Find("[data-testid=labels-summary]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_scanned_code_redirects_to_the_asset_page_and_an_unknown_one_says_so()
    {
        var org = await TestOrg.CreateAsync(_host.Data);
        using var client = await _host.SignedInAsync(org[Role.Technician]);

        var known = await client.GetAsync($"/a/M-{org.Suffix}");
        var unknown = await client.GetAsync("/a/NO-SUCH-CODE");

        Assert.Equal(HttpStatusCode.Redirect, known.StatusCode);
        Assert.Equal($"/assets/{org.MachineId}", known.Headers.Location!.ToString().Replace("http://localhost", "", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, unknown.StatusCode);
        Assert.Contains("Unknown asset code", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
