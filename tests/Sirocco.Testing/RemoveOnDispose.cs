namespace Sirocco.Testing;

/// <summary>Removes a test's temporary folder when disposed, so a test leaves nothing behind however it ends.</summary>
public sealed class RemoveOnDispose(string path) : IDisposable
{
    /// <summary>The folder removed.</summary>
    public string Path { get; } = path;

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
    }
}
