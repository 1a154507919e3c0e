namespace Sirocco.DagFiles;

/// <summary>What one <see cref="DagBag.CollectAsync(CancellationToken)"/> found.</summary>
/// <param name="Dags">The valid DAGs by dag_id (each with <see cref="Dag.FileLoc"/> set to its file's full path).</param>
/// <param name="ImportErrors">One entry per file that failed, completely or for some of its DAGs, ordered by file.</param>
/// <param name="Files">Every DAG file considered (full paths, ordinal order).</param>
public sealed record DagBagResult(
    IReadOnlyDictionary<string, Dag> Dags,
    IReadOnlyList<DagImportError> ImportErrors,
    IReadOnlyList<string> Files)
{
    /// <summary>Counts and durations of this collection.</summary>
    public DagBagStats Stats { get; init; } = new();

    /// <summary>Per-file outcome of this collection (ordinal file order), like Airflow's <c>dagbag_stats</c>.</summary>
    public IReadOnlyList<DagFileStat> FileStats { get; init; } = [];
}

/// <summary>A DAG file that could not be loaded, or some of whose DAGs were rejected.</summary>
/// <param name="FileName">The full path of the file.</param>
/// <param name="Message">What went wrong; a compile error reads <c>file(line,col): error CSxxxx: text</c>.</param>
public sealed record DagImportError(string FileName, string Message)
{
    /// <summary>The 1-based line of the (first) error, when known.</summary>
    public int? Line { get; init; }

    /// <summary>The 1-based column of the (first) error, when known.</summary>
    public int? Column { get; init; }
}

/// <summary>Counts and durations of one collection.</summary>
public sealed record DagBagStats
{
    /// <summary>DAG files seen.</summary>
    public int Files { get; init; }

    /// <summary>Files handed to a parser because they are new or their content changed.</summary>
    public int FilesParsed { get; init; }

    /// <summary>Files whose content was unchanged, so their previous result was kept without running them again.</summary>
    public int FilesUnchanged { get; init; }

    /// <summary>Files compiled (C#: a Roslyn compilation).</summary>
    public int Compiled { get; init; }

    /// <summary>Files whose compiled form came from the in-memory cache.</summary>
    public int MemoryCacheHits { get; init; }

    /// <summary>Files whose compiled form came from the on-disk cache.</summary>
    public int DiskCacheHits { get; init; }

    /// <summary>The whole collection, wall clock.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Time spent compiling, summed over files (may exceed <see cref="Duration"/> when files compile in parallel).</summary>
    public TimeSpan CompileDuration { get; init; }
}

/// <summary>The outcome of one file in one collection.</summary>
/// <param name="FileName">The full path of the file.</param>
/// <param name="Origin">How the file's result was obtained.</param>
/// <param name="DagCount">The DAGs the file contributed (after validation and duplicate checks).</param>
/// <param name="HasErrors">Whether the file has an import error.</param>
/// <param name="Duration">Time spent on the file in this collection (zero when unchanged).</param>
public sealed record DagFileStat(string FileName, DagFileOrigin Origin, int DagCount, bool HasErrors, TimeSpan Duration)
{
    /// <summary>The tasks of those DAGs (Airflow's <c>dags report</c> <c>task_num</c>).</summary>
    public int TaskCount { get; init; }

    /// <summary>The ids of those DAGs, in the order the file returned them.</summary>
    public IReadOnlyList<string> DagIds { get; init; } = [];
}

/// <summary>How a file's DAGs were obtained in a collection.</summary>
public enum DagFileOrigin
{
    /// <summary>The content was unchanged: the previous result was kept.</summary>
    Unchanged,

    /// <summary>Parsed by a parser that does not compile (or does not report how).</summary>
    Parsed,

    /// <summary>Compiled (C#: Roslyn) and run.</summary>
    Compiled,

    /// <summary>The compiled form came from the in-memory cache, then ran.</summary>
    MemoryCache,

    /// <summary>The compiled form came from the on-disk cache, then ran.</summary>
    DiskCache,
}
