using System.Security.Cryptography;
using System.Text;
using Sirocco.DagFiles;
using Sirocco.DagFiles.Airflow;

namespace Sirocco.Fuzz;

/// <summary>
/// Generated <c>.py</c> files through the Airflow DAG-file reader, then through the checks the DagBag runs on what a
/// file returns (<see cref="Dag.Validate"/>). Rules: DAGs, or exactly one import error that starts with the file's
/// path and is not the reader's "internal error" (an exception it caught from itself); never half a DAG; a rejected
/// DAG is a <see cref="SiroccoException"/>.
/// </summary>
internal sealed class AirflowDagTarget : IFuzzTarget
{
    /// <summary>The reader's own time limit per file; the case's limit is longer, so a timeout it reports is a refusal.</summary>
    private static readonly TimeSpan ParseTimeout = TimeSpan.FromSeconds(3);

    private readonly AirflowDagFileParser _parser = new(new AirflowDagFileParserOptions { Environment = new Dictionary<string, string>() });
    private readonly PythonDagGenerator _generator = new(SeedCorpus.AirflowDagFiles());

    /// <inheritdoc/>
    public string Name => "airflow-dag";

    /// <inheritdoc/>
    public TimeSpan CaseTimeLimit => TimeSpan.FromSeconds(5);

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public PreparedCase Prepare(Random random, int index)
    {
        var text = _generator.Generate(random);
        var path = $"/fuzz/dags/case_{index}.py";
        return new PreparedCase(text, ct => CheckAsync(path, text, ct));
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Reads one file's text; throws <see cref="FuzzFailureException"/> when the outcome breaks a rule.</summary>
    public async Task<Verdict> CheckAsync(string path, string text, CancellationToken cancellationToken)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        var result = await _parser.ParseAsync(new DagFileParseRequest(path, text, hash, ParseTimeout), cancellationToken).ConfigureAwait(false);
        if (result.Errors.Count > 0)
        {
            if (result.Dags.Count > 0)
            {
                throw new FuzzFailureException($"{result.Dags.Count} DAGs beside an import error (half a file): {result.Errors[0].Message}");
            }

            if (result.Errors.Count != 1)
            {
                throw new FuzzFailureException($"{result.Errors.Count} import errors for one file");
            }

            var message = result.Errors[0].Message;
            if (!message.StartsWith(path, StringComparison.Ordinal) && !message.Contains(path, StringComparison.Ordinal))
            {
                throw new FuzzFailureException("the import error does not name the file: " + message);
            }

            if (message.Contains("internal error", StringComparison.OrdinalIgnoreCase))
            {
                throw new FuzzFailureException("the reader failed on itself: " + message);
            }

            return Verdict.Refuse(message);
        }

        foreach (var dag in result.Dags)
        {
            try
            {
                dag.Validate();
            }
            catch (SiroccoException e)
            {
                return Verdict.Refuse($"{path}: {e.Message}");
            }
        }

        return Verdict.Accept;
    }
}
