using System.Text.RegularExpressions;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>
/// Production assemblies meet through public API only: an InternalsVisibleTo in src/ may name a test project or a
/// benchmark, never another production assembly (the DAG-file reader uses the template engine's public value model).
/// </summary>
public sealed partial class AssemblyBoundaryTests
{
    [Fact]
    public void No_production_assembly_sees_another_s_internals()
    {
        var src = Path.Combine(Support.RepositoryRoot(), "src");
        var grants = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .SelectMany(f => Grant().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetRelativePath(src, f), To: m.Groups[1].Value.Split(',')[0].Trim())))
            .Concat(Directory.EnumerateFiles(src, "*.csproj", SearchOption.AllDirectories)
                .Append(Path.Combine(Support.RepositoryRoot(), "Directory.Build.props"))
                .SelectMany(f => ProjectGrant().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetRelativePath(src, f), To: m.Groups[1].Value.Split(',')[0].Trim()))))
            .ToList();

        Assert.NotEmpty(grants); // the Kubernetes component grants its tests and benchmarks
        // Directory.Build.props grants each project's internals to "$(MSBuildProjectName).Tests".
        var production = grants.Where(g => !g.To.EndsWith(".Tests", StringComparison.Ordinal) && !g.To.StartsWith("Sirocco.Bench.", StringComparison.Ordinal)).ToList();
        Assert.True(production.Count == 0, string.Join("\n", production.Select(g => $"{g.File} grants its internals to {g.To}")));
    }

    [GeneratedRegex("""InternalsVisibleTo\("([^"]+)"\)""")]
    private static partial Regex Grant();

    [GeneratedRegex("<InternalsVisibleTo Include=\"([^\"]+)\"")]
    private static partial Regex ProjectGrant();
}
