using System.Text;
using Sirocco.DagFiles;

namespace Sirocco.Fuzz;

/// <summary>
/// Generated C# DAG files collected by a <see cref="DagBag"/> (Roslyn compilation, then the file runs). Rules: the
/// collection never throws; each import error belongs to the file and names it; each DAG's file is the case's file.
/// </summary>
internal sealed class CSharpDagTarget : IFuzzTarget
{
    private readonly CSharpDagGenerator _generator = new(SeedCorpus.CSharpDagFiles());
    private readonly string _root = FuzzFolders.Create("csharp");
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private DagBag? _bag;

    /// <inheritdoc/>
    public string Name => "csharp-dag";

    /// <inheritdoc/>
    public TimeSpan CaseTimeLimit => TimeSpan.FromSeconds(90); // the first compilation warms Roslyn up

    private string Dags => Path.Combine(_root, "dags");

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Dags);
        _bag = new DagBag(new DagBagOptions { DagsFolder = Dags, Watch = false, ParseTimeout = TimeSpan.FromSeconds(10), MaxParallelism = 1 });
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public PreparedCase Prepare(Random random, int index)
    {
        var text = _generator.Generate(random);
        return new PreparedCase(text, ct => CheckAsync(text, $"case_{index}", ct));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        // A case that timed out may still hold the lock; the bag is disposed once it is free or after a while.
        var free = await _oneAtATime.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        _bag?.Dispose();
        if (free)
        {
            _oneAtATime.Release();
        }

        FuzzFolders.Delete(_root);
    }

    /// <summary>Collects one file, <paramref name="name"/>.cs; throws <see cref="FuzzFailureException"/> when the outcome breaks a rule.</summary>
    public async Task<Verdict> CheckAsync(string text, string name, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Dags, name + ".cs");
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var old in Directory.GetFiles(Dags))
            {
                File.Delete(old);
            }

            // A file holds UTF-8: a lone surrogate of the generated text becomes U+FFFD, as any editor would write it.
            await File.WriteAllBytesAsync(path, Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
            var result = await _bag!.CollectAsync(cancellationToken).ConfigureAwait(false);
            var fileName = Path.GetFileName(path);
            foreach (var error in result.ImportErrors)
            {
                if (error.FileName != path || !error.Message.Contains(fileName, StringComparison.Ordinal))
                {
                    throw new FuzzFailureException(
                        $"an import error that does not name {path}: file {error.FileName}, message \"{error.Message}\" ({error.Message.Length} characters)");
                }
            }

            foreach (var dag in result.Dags.Values)
            {
                if (dag.FileLoc != path)
                {
                    throw new FuzzFailureException($"DAG {dag.DagId} comes from {dag.FileLoc}, not {path}");
                }
            }

            return result.ImportErrors.Count > 0 ? Verdict.Refuse(result.ImportErrors[0].Message) : Verdict.Accept;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }
}
