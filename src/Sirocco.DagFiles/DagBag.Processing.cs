using System.Diagnostics;
using Sirocco.DagFiles.Processing;

namespace Sirocco.DagFiles;

/// <summary>Parsing one file here or, with <see cref="DagBagOptions.Processor"/>, first in a DAG-processor child.</summary>
public sealed partial class DagBag
{
    /// <summary>The child's side: parses one file here and says what it built (before validation, which the host does).</summary>
    internal async Task<ProcessorReply> ServeAsync(ProcessorRequest request, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(request.TimeoutSeconds);
        var started = Stopwatch.GetTimestamp();
        var result = await ParseHereAsync(new DagFileParseRequest(request.Path, request.Text, request.Hash, timeout), cancellationToken)
            .ConfigureAwait(false);

        // The host loads the file from the disk cache: nothing of it need stay here.
        _csharp.Release(request.Path);

        // A run past its timeout (compiling not counted) left its thread behind; an exhausted heap may have left anything
        // in a bad state.
        var tainted = Stopwatch.GetElapsedTime(started) - result.CompileDuration >= timeout
            || result.Errors.Any(e => e.Message.Contains(nameof(OutOfMemoryException), StringComparison.Ordinal));
        return new ProcessorReply(
            request.Id,
            [.. result.Dags.Select(d => new ProcessorDag(d.DagId, d.Tasks.Count))],
            [.. result.Errors.Select(e => new ProcessorError(e.Message, e.Line, e.Column))],
            result.Origin,
            result.CompileDuration.TotalMilliseconds,
            tainted);
    }

    private async Task<DagFileParseResult> ParseHereAsync(DagFileParseRequest request, CancellationToken cancellationToken)
    {
        var parser = _parsers[Path.GetExtension(request.FilePath)];
        try
        {
            return await parser.ParseAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new DagFileParseResult([], [new DagImportError(request.FilePath, $"{request.FilePath}: {e.GetType().FullName}: {e.Message}")]);
        }
    }

    /// <summary>
    /// Runs the file in a child first. A file that ended or hung the child, or built no DAG there, is not run here: the
    /// child's errors stand. Otherwise the file is loaded here too (a C# file from the disk cache the child filled), and
    /// only the DAGs it built both times are kept.
    /// </summary>
    private async Task<DagFileParseResult> ParseIsolatedAsync(DagProcessorPool processors, DagFileParseRequest request, CancellationToken cancellationToken)
    {
        var path = request.FilePath;
        (ProcessorReply? reply, DagImportError? failure, bool transient) outcome;
        try
        {
            outcome = await processors.RunAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            throw new OperationCanceledException("the DagBag was disposed during a collection");
        }

        if (outcome.failure is { } failure)
        {
            return new DagFileParseResult([], [failure]) { Transient = outcome.transient };
        }

        var reply = outcome.reply!;
        var compiled = TimeSpan.FromMilliseconds(reply.CompileMilliseconds);
        if (reply.Dags.Count == 0)
        {
            return new DagFileParseResult([], [.. reply.Errors.Select(e => new DagImportError(path, e.Message) { Line = e.Line, Column = e.Column })])
            {
                Origin = reply.Origin,
                CompileDuration = compiled,
            };
        }

        var here = await ParseHereAsync(request, cancellationToken).ConfigureAwait(false);
        var expected = reply.Dags.Select(d => d.DagId).ToHashSet(StringComparer.Ordinal);
        var built = here.Dags.Select(d => d.DagId).ToHashSet(StringComparer.Ordinal);
        var dags = here.Dags;
        var errors = here.Errors;
        var same = expected.SetEquals(built);
        if (!same)
        {
            dags = [.. here.Dags.Where(d => expected.Contains(d.DagId))];
            errors =
            [
                .. errors,
                new DagImportError(
                    path,
                    $"{path}: the file built DAGs [{string.Join(", ", expected.Order(StringComparer.Ordinal))}] in the DAG processor but " +
                    $"[{string.Join(", ", built.Order(StringComparer.Ordinal))}] when loaded; only the DAGs built both times are kept " +
                    "(a DAG file must build the same DAGs each time it runs; it is read again at the next collection)"),
            ];
        }

        // The child did the compiling; the statistics say so. A difference may come from what the file read (a folder of
        // configuration files changing between the two runs): the file is tried again next time rather than kept so.
        return new DagFileParseResult(dags, errors) { Origin = reply.Origin, CompileDuration = compiled, Transient = !same };
    }
}
