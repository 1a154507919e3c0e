using System.Text.Json;

namespace Sirocco.Fuzz;

/// <summary>
/// The valid inputs the generators start from, read from the repository itself: the Airflow DAG files of the Airflow
/// reader's tests, the templates of the templating conformance suite and the C# DAG files of <c>examples/dags</c>.
/// Reading them in place keeps one copy of each and lets new fixtures join the corpus without a change here.
/// </summary>
internal static class SeedCorpus
{
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>The repository's root folder (the one holding <c>Sirocco.slnx</c>).</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>The Airflow DAG files (<c>.py</c>) of the Airflow reader's tests, in ordinal order of name.</summary>
    public static IReadOnlyList<string> AirflowDagFiles()
    {
        var fixtures = Path.Combine(RepositoryRoot, "tests", "Sirocco.DagFiles.Airflow.Tests", "fixtures");
        return ReadAll(Directory.GetFiles(fixtures, "*.py", SearchOption.AllDirectories));
    }

    /// <summary>The templates of the templating conformance suite (each also rendered by Jinja2 when it was written).</summary>
    public static IReadOnlyList<string> Templates()
    {
        var path = Path.Combine(RepositoryRoot, "tests", "Sirocco.Templating.Tests", "fixtures", "conformance.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return [.. document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("template").GetString() ?? string.Empty)];
    }

    /// <summary>The C# DAG files of <c>examples/dags</c>.</summary>
    public static IReadOnlyList<string> CSharpDagFiles() =>
        ReadAll(Directory.GetFiles(Path.Combine(RepositoryRoot, "examples", "dags"), "*.cs"));

    /// <summary>The distinct words (identifier-like runs) of some texts, in ordinal order.</summary>
    /// <param name="texts">The texts.</param>
    /// <param name="extra">Words added to them.</param>
    /// <returns>The words.</returns>
    public static IReadOnlyList<string> Words(IEnumerable<string> texts, params string[] extra)
    {
        var words = new SortedSet<string>(extra, StringComparer.Ordinal);
        foreach (var text in texts)
        {
            var start = -1;
            for (var i = 0; i <= text.Length; i++)
            {
                var part = i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] == '_');
                if (part && start < 0)
                {
                    start = i;
                }
                else if (!part && start >= 0)
                {
                    words.Add(text[start..i]);
                    start = -1;
                }
            }
        }

        return [.. words];
    }

    private static string[] ReadAll(string[] paths) =>
        [.. paths.Order(StringComparer.Ordinal).Select(File.ReadAllText)];

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"The repository root (a folder with Sirocco.slnx) was not found above {AppContext.BaseDirectory}");
    }
}
