namespace Sirocco.DagFiles;

/// <summary>
/// Turns one kind of DAG file into DAGs. The C# parser is built in; others (the Airflow <c>.py</c> reader) are given in
/// <see cref="DagBagOptions.AdditionalParsers"/>. A parser reports problems in its result rather than throwing; an
/// exception it throws anyway becomes the file's import error. The <see cref="DagBag"/> validates the returned DAGs
/// (cycles, duplicate ids), sets <see cref="Dag.FileLoc"/>, and calls the parser only when a file's content changed.
/// </summary>
public interface IDagFileParser
{
    /// <summary>The file extensions handled, with the dot (e.g. <c>.cs</c>), compared case-insensitively.</summary>
    IReadOnlyCollection<string> FileExtensions { get; }

    /// <summary>Parses one file; must stop building DAGs after <see cref="DagFileParseRequest.Timeout"/>.</summary>
    /// <param name="request">The file, its content and its timeout.</param>
    /// <param name="cancellationToken">Cancels the collection.</param>
    /// <returns>The DAGs and the errors.</returns>
    Task<DagFileParseResult> ParseAsync(DagFileParseRequest request, CancellationToken cancellationToken);
}

/// <summary>One file to parse.</summary>
/// <param name="FilePath">The full path of the file.</param>
/// <param name="Text">The content, decoded as UTF-8.</param>
/// <param name="ContentHash">The SHA-256 of the file's bytes, lower-case hex.</param>
/// <param name="Timeout">How long building the DAGs may take.</param>
public sealed record DagFileParseRequest(string FilePath, string Text, string ContentHash, TimeSpan Timeout);

/// <summary>What a parser made of one file.</summary>
/// <param name="Dags">The DAGs the file yielded (possibly none).</param>
/// <param name="Errors">The problems (none when the file loaded).</param>
public sealed record DagFileParseResult(IReadOnlyList<Dag> Dags, IReadOnlyList<DagImportError> Errors)
{
    /// <summary>How the result was obtained (compiled, from a cache, or parsed).</summary>
    public DagFileOrigin Origin { get; init; } = DagFileOrigin.Parsed;

    /// <summary>Time spent compiling (zero when nothing was compiled).</summary>
    public TimeSpan CompileDuration { get; init; }

    /// <summary>The failure was not the file's doing (no DAG processor could run it): the file is tried again next time.</summary>
    internal bool Transient { get; init; }
}
