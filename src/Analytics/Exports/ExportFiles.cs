namespace WorkOrders.Analytics.Exports;

/// <summary>Files that exports are written into before they are sent.</summary>
public static class ExportFiles
{
    /// <summary>A new file in the temp folder, deleted when the stream is closed.</summary>
    public static FileStream Temporary() => new(
        Path.Combine(Path.GetTempPath(), $"workorders-export-{Guid.NewGuid():N}.tmp"),
        FileMode.CreateNew,
        FileAccess.ReadWrite,
        FileShare.None,
        64 * 1024,
        FileOptions.DeleteOnClose | FileOptions.Asynchronous);
}
