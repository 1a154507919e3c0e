namespace Sirocco.DagFiles.Tests;

/// <summary>A temporary dags folder and cache folder, deleted at the end of the test.</summary>
internal sealed class DagFolder : IDisposable
{
    public DagFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), "sirocco-dagfiles-tests", Guid.NewGuid().ToString("N"));
        Dags = Path.Combine(Root, "dags");
        Cache = Path.Combine(Root, "cache");
        Directory.CreateDirectory(Dags);
    }

    public string Root { get; }

    public string Dags { get; }

    public string Cache { get; }

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "examples", "dags")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    public string Write(string name, string content)
    {
        var path = Path.Combine(Dags, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    public DagBag CreateBag(TimeSpan? timeout = null, bool watch = false, bool diskCache = true, IReadOnlyList<IDagFileParser>? parsers = null) =>
        new(new DagBagOptions
        {
            DagsFolder = Dags,
            CacheFolder = diskCache ? Cache : null,
            ParseTimeout = timeout ?? TimeSpan.FromSeconds(30),
            Watch = watch,
            AdditionalParsers = parsers ?? [],
        });

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
