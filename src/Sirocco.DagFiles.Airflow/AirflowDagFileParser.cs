using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using Sirocco.DagFiles.Airflow.Evaluation;
using Sirocco.DagFiles.Airflow.Syntax;

namespace Sirocco.DagFiles.Airflow;

/// <summary>
/// Reads Airflow DAG files (<c>*.py</c>) without Python: a static evaluator of the subset such files use (imports of
/// known modules, literals, assignments, <c>with DAG(...)</c>, loops, comprehensions, f-strings, simple functions,
/// <c>&gt;&gt;</c>/<c>&lt;&lt;</c>, <c>chain</c>) that builds the same <see cref="Dag"/> objects a C# DAG file would.
/// Anything outside the subset is an import error naming the file, line, column and construct; a file with an error
/// yields no DAG at all. Register it in <see cref="DagBagOptions.AdditionalParsers"/>.
/// </summary>
public sealed class AirflowDagFileParser : IDagFileParser
{
    private const int MaxCachedFiles = 20_000;

    private readonly AirflowDagFileParserOptions _options;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly ConcurrentDictionary<string, ModuleNode> _syntaxCache = new(StringComparer.Ordinal);

    /// <summary>Creates the reader.</summary>
    /// <param name="options">Clock, environment and Variables; defaults when null.</param>
    public AirflowDagFileParser(AirflowDagFileParserOptions? options = null)
    {
        _options = options ?? new AirflowDagFileParserOptions();
        _environment = _options.Environment ?? ReadProcessEnvironment();
    }

    /// <inheritdoc/>
    public IReadOnlyCollection<string> FileExtensions { get; } = [".py"];

    /// <inheritdoc/>
    public Task<DagFileParseResult> ParseAsync(DagFileParseRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Parse(request.FilePath, request.Text, request.ContentHash, request.Timeout, cancellationToken));
    }

    /// <summary>Parses one file's text (the synchronous core of <see cref="ParseAsync"/>).</summary>
    internal DagFileParseResult Parse(string path, string text, string? contentHash, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Airflow's safe mode: a .py file that mentions neither "airflow" nor "dag" is a helper module, not a DAG file.
        if (!text.Contains("airflow", StringComparison.OrdinalIgnoreCase) || !text.Contains("dag", StringComparison.OrdinalIgnoreCase))
        {
            return new DagFileParseResult([], []);
        }

        try
        {
            var module = Syntax(text, contentHash);
            var library = new Library(path, _options.TimeProvider, _environment, _options.Variables, _options.Secrets);
            var interpreter = new Interpreter(module, library, timeout, _options.MaxSteps, cancellationToken);
            interpreter.Run();
            return new DagFileParseResult(library.Results(interpreter.Globals, text), []);
        }
        catch (DagSyntaxException e)
        {
            return Failure(path, text, e.Offset, e.Message);
        }
        catch (DagEvalException e)
        {
            return Failure(path, text, e.Offset, e.Message);
        }
        catch (KeywordException e)
        {
            return Failure(path, text, null, e.Message);
        }
        catch (TimeoutException)
        {
            var seconds = timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            return new DagFileParseResult([], [new DagImportError(path, $"DAG file {path} timed out after {seconds} s")]);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug of the reader must not take the DagBag down: the file gets an import error saying so.
            return new DagFileParseResult([], [new DagImportError(path, $"{path}: internal error of the DAG-file reader: {e.GetType().Name}: {e.Message}")]);
        }
    }

    private ModuleNode Syntax(string text, string? contentHash)
    {
        if (contentHash is null)
        {
            return Parser.ParseModule(text);
        }

        if (_syntaxCache.TryGetValue(contentHash, out var cached))
        {
            return cached;
        }

        var module = Parser.ParseModule(text);
        if (_syntaxCache.Count >= MaxCachedFiles)
        {
            _syntaxCache.Clear();
        }

        _syntaxCache[contentHash] = module;
        return module;
    }

    private static DagFileParseResult Failure(string path, string text, int? offset, string message)
    {
        if (offset is not { } at)
        {
            return new DagFileParseResult([], [new DagImportError(path, $"{path}: {message}")]);
        }

        var (line, column) = Position(text, at);
        return new DagFileParseResult([], [new DagImportError(path, $"{path}:{line}:{column}: {message}") { Line = line, Column = column }]);
    }

    /// <summary>The 1-based line and column of an offset.</summary>
    internal static (int Line, int Column) Position(string text, int offset)
    {
        offset = Math.Clamp(offset, 0, text.Length);
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset; i++)
        {
            if (text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, offset - lineStart + 1);
    }

    private static Dictionary<string, string> ReadProcessEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            if (e.Key is string k && e.Value is string v)
            {
                env[k] = v;
            }
        }

        return env;
    }
}
