using QRCoder;

namespace WorkOrders.Dashboard.QrLabels;

/// <summary>Where printed labels point: the address of the app as phones reach it (default: the address the page was opened at).</summary>
public sealed class LabelOptions
{
    public const string Section = "Labels";

    public Uri? BaseAddress { get; set; }
}

/// <summary>
/// The QR code of an asset label. Its content is the address /a/{code} on the app's base address, which opens the asset
/// in the browser and in the field app. Drawn as SVG (no System.Drawing), so it prints sharp at any size.
/// </summary>
public static class QrLabel
{
    /// <summary>The address a label for this code carries.</summary>
    public static Uri Address(Uri baseAddress, string code) => new(baseAddress, $"a/{Uri.EscapeDataString(code)}");

    /// <summary>An SVG that scales to its box (viewBox, no fixed size), with the quiet zone scanners need.</summary>
    public static string Svg(string payload)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(payload, QRCodeGenerator.ECCLevel.M);
        using var svg = new SvgQRCode(data);
        return svg.GetGraphic(4, "#000000", "#ffffff", drawQuietZones: true, sizingMode: SvgQRCode.SizingMode.ViewBoxAttribute);
    }

    /// <summary>The same code as a PNG, for a client that wants an image file.</summary>
    public static byte[] Png(string payload, int pixelsPerModule = 8)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(payload, QRCodeGenerator.ECCLevel.M);
        using var png = new PngByteQRCode(data);
        return png.GetGraphic(pixelsPerModule);
    }
}
