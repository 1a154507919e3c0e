using System.Diagnostics;
using System.IO.Compression;

namespace Sirocco.Cli.Tests;

/// <summary>
/// The installable tool: the version comes from the newest release tag, the packed nupkg installs with
/// <c>dotnet tool install</c>, and the installed <c>sirocco</c> runs, including its shell completion.
/// </summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sirocco-tool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sirocco.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("the repository root (Sirocco.slnx) is not above " + AppContext.BaseDirectory);
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }

        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task The_packed_tool_takes_its_version_from_the_release_tag_installs_and_runs_with_completion()
    {
        // A repository whose newest release tag is v2.3.4 (the version source for the package).
        var tagged = Path.Combine(_dir, "tagged");
        Directory.CreateDirectory(tagged);
        foreach (var git in new[] { new[] { "init", "-q" }, ["-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-q", "--allow-empty", "-m", "release"], ["tag", "v2.3.4"] })
        {
            Assert.Equal(0, (await RunAsync("git", ["-C", tagged, .. git])).Code);
        }

        var project = Path.Combine(RepositoryRoot(), "src", "Sirocco.Cli", "Sirocco.Cli.csproj");
        var version = await RunAsync("dotnet", ["msbuild", project, "-t:SiroccoVersionFromGit", "-getProperty:PackageVersion", $"-p:SiroccoVersionRepository={tagged}"]);
        Assert.True(version.Code == 0, version.Out + version.Err);
        Assert.Equal("2.3.4", version.Out.Trim());

        // Pack the build the tests run against (its configuration is in our own path), then install it as a tool.
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var packages = Path.Combine(_dir, "packages");
        var pack = await RunAsync("dotnet", ["pack", project, "-c", configuration, "--no-build", "--no-restore", "-o", packages, $"-p:SiroccoVersionRepository={tagged}", $"-p:NuspecOutputPath={Path.Combine(_dir, "nuspec")}/"]);
        Assert.True(pack.Code == 0, pack.Out + pack.Err);
        var nupkg = Path.Combine(packages, "sirocco.2.3.4.nupkg");
        using (var zip = ZipFile.OpenRead(nupkg))
        {
            Assert.Contains(zip.Entries, e => e.FullName.EndsWith("/DotnetToolSettings.xml", StringComparison.Ordinal));
            Assert.Contains(zip.Entries, e => e.FullName.EndsWith("/sirocco.dll", StringComparison.Ordinal));
            Assert.Contains(zip.Entries, e => e.FullName.EndsWith("example_dags/example_noop.cs", StringComparison.Ordinal));
        }

        var tools = Path.Combine(_dir, "tools");
        var install = await RunAsync("dotnet", ["tool", "install", "sirocco", "--tool-path", tools, "--add-source", packages, "--version", "2.3.4", "--ignore-failed-sources"]);
        Assert.True(install.Code == 0, install.Out + install.Err);
        var sirocco = Path.Combine(tools, "sirocco");

        var shown = await RunAsync(sirocco, ["version"]);
        Assert.Equal(0, shown.Code);
        Assert.Matches(@"^\d+\.\d+\.\d+", shown.Out);
        var home = new Dictionary<string, string> { ["SIROCCO_HOME"] = Path.Combine(_dir, "home") };
        Assert.Equal(0, (await RunAsync(sirocco, ["variables", "set", "region", "europe-west1"], home)).Code);
        Assert.Equal("europe-west1\n", (await RunAsync(sirocco, ["variables", "get", "region"], home)).Out);

        // Bash completion asks the installed program what may follow.
        var script = """
            source <("$SIROCCO" completion bash)
            COMP_LINE="sirocco da"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(sirocco da); COMP_CWORD=1
            _sirocco_complete
            echo "${COMPREPLY[*]}"
            COMP_LINE="sirocco variables s"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(sirocco variables s); COMP_CWORD=2
            _sirocco_complete
            echo "${COMPREPLY[*]}"
            """;
        var completed = await RunAsync("bash", ["-s"], new Dictionary<string, string> { ["SIROCCO"] = sirocco, ["PATH"] = tools + ":" + Environment.GetEnvironmentVariable("PATH") }, script);
        Assert.True(completed.Code == 0, completed.Err);
        Assert.Equal("dags\nset\n", completed.Out);
        Assert.Contains("compdef _sirocco sirocco", (await RunAsync(sirocco, ["completion", "zsh"])).Out, StringComparison.Ordinal);
        Assert.NotEqual(0, (await RunAsync(sirocco, ["completion", "fish"])).Code);
    }
}
