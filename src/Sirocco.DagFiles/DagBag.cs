using System.Security.Cryptography;
using System.Text;
using Sirocco.DagFiles.CSharp;

namespace Sirocco.DagFiles;

/// <summary>
/// The DAGs of a dags folder. <see cref="CollectAsync"/> scans the folder (recursively; dot-names and what an
/// <c>.airflowignore</c> excludes are skipped, as in Airflow) and parses only the files that are new or
/// changed (C# files are compiled with Roslyn and cached by content hash, in memory and on disk); a file that fails
/// becomes an import error and every other file keeps loading. <see cref="WaitForChangeAsync"/> completes when the
/// folder changed, so the scheduler collects again. Collections are serialized; the instance is thread-safe.
/// </summary>
public sealed partial class DagBag : IDisposable
{
    private readonly DagBagOptions _options;
    private readonly CSharpDagFileParser _csharp;
    private readonly Dictionary<string, IDagFileParser> _parsers = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, FileState> _files = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _collectLock = new(1, 1);
    private readonly DagFolderWatcher? _watcher;
    private readonly string _dagsFolder;
    private readonly Processing.DagProcessorPool? _processors;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);
    private bool _disposed;
    private bool _cachePruned;

    /// <summary>Creates a DAG bag over <see cref="DagBagOptions.DagsFolder"/>; nothing is parsed until the first collection.</summary>
    /// <param name="options">Folder, cache, timeout, references and parsers.</param>
    public DagBag(DagBagOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DagsFolder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ParseTimeout, TimeSpan.Zero);
        _options = options;
        _dagsFolder = Path.GetFullPath(options.DagsFolder);
        _csharp = new CSharpDagFileParser(options);
        foreach (var parser in options.AdditionalParsers.Prepend(_csharp))
        {
            foreach (var extension in parser.FileExtensions)
            {
                _parsers[extension.StartsWith('.') ? extension : "." + extension] = parser;
            }
        }

        if (options.Processor is { } processor)
        {
            _processors = new Processing.DagProcessorPool(processor, CSharpDagFileParser.CompileBudget(options.ParseTimeout));
        }

        if (options.Watch)
        {
            _watcher = new DagFolderWatcher(
                _dagsFolder,
                options.WatchDebounce,
                options.TimeProvider,
                path => IsDagFile(path) || Path.GetFileName(path) == DagFileFinder.IgnoreFileName);
        }
    }

    /// <summary>The full path of the dags folder.</summary>
    public string DagsFolder => _dagsFolder;

    /// <summary>
    /// Scans the dags folder and returns its DAGs and import errors. A file whose size, modification time and
    /// content hash are unchanged keeps its previous result without running again; a new or changed file is parsed
    /// (compiled only when its content was never compiled before, in this process or in the disk cache).
    /// </summary>
    /// <param name="cancellationToken">Cancels the collection.</param>
    /// <returns>The DAGs by dag_id, the import errors, the files and statistics.</returns>
    public Task<DagBagResult> CollectAsync(CancellationToken cancellationToken = default) =>
        CollectCoreAsync(reparseAll: false, cancellationToken);

    /// <summary>
    /// A full rescan: like <see cref="CollectAsync"/>, but every file is read and run again (its compiled form still
    /// comes from the cache when its content is unchanged).
    /// </summary>
    /// <param name="cancellationToken">Cancels the collection.</param>
    /// <returns>The DAGs by dag_id, the import errors, the files and statistics.</returns>
    public Task<DagBagResult> RescanAsync(CancellationToken cancellationToken = default) =>
        CollectCoreAsync(reparseAll: true, cancellationToken);

    /// <summary>
    /// Completes when something in the dags folder changed (debounced by <see cref="DagBagOptions.WatchDebounce"/>) after
    /// the last collection started or the last wait completed; at once if such a change is already pending. A completed
    /// wait consumes the change, so the pattern "wait, start the next wait, collect" does not spin. Call
    /// <see cref="CollectAsync"/> next. Meant for one consumer (the scheduler loop).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes on a change.</returns>
    /// <exception cref="InvalidOperationException"><see cref="DagBagOptions.Watch"/> is false.</exception>
    public Task WaitForChangeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _watcher is null
            ? throw new InvalidOperationException("This DagBag does not watch its folder (DagBagOptions.Watch is false)")
            : _watcher.WaitAsync(cancellationToken);
    }

    /// <summary>Stops watching and lets the compiled DAG files be unloaded once nothing uses them.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _watcher?.Dispose();
        _processors?.Dispose();
        _csharp.Dispose();

        // _collectLock is not disposed: a collection still running must be able to release it (a SemaphoreSlim holds
        // no unmanaged resource unless its wait handle was requested).
    }

    private static string FormatDuplicate(string dagId, string firstFile, string file) =>
        $"DAG id '{dagId}' is defined in both {firstFile} and {file}; the DAG in {file} was ignored";

    private async Task<DagBagResult> CollectCoreAsync(bool reparseAll, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _collectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var time = _options.TimeProvider;
            var started = time.GetTimestamp();
            _watcher?.EnsureStarted();
            _watcher?.MarkCollected();

            var files = ListFiles();
            var present = new HashSet<string>(files, StringComparer.Ordinal);
            foreach (var gone in _files.Keys.Where(f => !present.Contains(f)).ToList())
            {
                _files.Remove(gone);
                _csharp.Release(gone);
            }

            var outcomes = new FileOutcome[files.Count];
            var parallel = new ParallelOptions
            {
                MaxDegreeOfParallelism = Math.Max(1, _options.MaxParallelism),
                CancellationToken = cancellationToken,
            };
            var previous = files.Select(f => _files.GetValueOrDefault(f)).ToArray();
            await Parallel.ForEachAsync(
                    Enumerable.Range(0, files.Count),
                    parallel,
                    async (i, ct) => outcomes[i] = await ProcessFileAsync(files[i], previous[i], reparseAll, ct).ConfigureAwait(false))
                .ConfigureAwait(false);

            var result = Assemble(files, outcomes, time.GetElapsedTime(started));
            if (outcomes.Any(o => o.Retry))
            {
                // A file that could not be judged this time (no DAG processor, or it built other DAGs twice) is tried
                // again soon, not only when something in the folder changes.
                _watcher?.ChangeAfter(RetryDelay);
            }

            if (!_cachePruned && _options.CacheRetention is { } retention)
            {
                // Once per DagBag, after every current file has refreshed its entry.
                _cachePruned = true;
                _csharp.PruneDiskCache(retention);
            }

            return result;
        }
        finally
        {
            _collectLock.Release();
        }
    }

    private List<string> ListFiles() => DagFileFinder.Find(_dagsFolder, IsDagFile);

    private bool IsDagFile(string path) => _parsers.ContainsKey(Path.GetExtension(path));

    private async Task<FileOutcome> ProcessFileAsync(string path, FileState? previous, bool reparseAll, CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        long length;
        DateTime lastWrite;
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            length = info.Length;
            lastWrite = info.LastWriteTimeUtc;
            if (!reparseAll && previous is not null && previous.Length == length && previous.LastWriteUtc == lastWrite)
            {
                return new FileOutcome(previous, DagFileOrigin.Unchanged, TimeSpan.Zero);
            }

            bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // Deleted between the listing and now: no DAGs, no error; the next collection no longer lists it.
            return new FileOutcome(new FileState(-1, default, string.Empty, [], []), DagFileOrigin.Parsed, time.GetElapsedTime(started));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unreadable: an import error this time, picked up again later.
            var unreadable = new FileState(-1, default, string.Empty, [], [new DagImportError(path, $"{path}: cannot read the file: {e.Message}")]);
            return new FileOutcome(unreadable, DagFileOrigin.Parsed, time.GetElapsedTime(started));
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!reparseAll && previous is not null && string.Equals(previous.ContentHash, hash, StringComparison.Ordinal))
        {
            // Touched but not changed.
            var same = previous with { Length = length, LastWriteUtc = lastWrite };
            lock (_files)
            {
                _files[path] = same;
            }

            return new FileOutcome(same, DagFileOrigin.Unchanged, TimeSpan.Zero);
        }

        var request = new DagFileParseRequest(path, Decode(bytes), hash, _options.ParseTimeout);
        var result = _processors is null
            ? await ParseHereAsync(request, cancellationToken).ConfigureAwait(false)
            : await ParseIsolatedAsync(_processors, request, cancellationToken).ConfigureAwait(false);

        var state = Validate(path, length, lastWrite, hash, result);
        if (result.Transient)
        {
            // Not the file's doing: its last DAGs stay, and it is forgotten as the file's version so that it is tried
            // again (the watcher reports a change soon, see CollectCoreAsync).
            state = state with { Length = -1, ContentHash = string.Empty };
            if (state.Dags.Count == 0 && previous is { Dags.Count: > 0 })
            {
                state = state with { Dags = previous.Dags };
            }
        }
        else if (_options.KeepLastGoodDags && state.Dags.Count == 0 && state.Errors.Count > 0 && previous is { Dags.Count: > 0 })
        {
            // Airflow keeps scheduling the last good version of a DAG whose file broke; the error is still reported.
            state = state with { Dags = previous.Dags };
        }

        lock (_files)
        {
            _files[path] = state;
        }

        return new FileOutcome(state, result.Origin, time.GetElapsedTime(started), result.CompileDuration, result.Transient);
    }

    /// <summary>Sets FileLoc, rejects invalid DAGs (cycles, dangling edges) and dag_ids repeated within the file.</summary>
    private static FileState Validate(string path, long length, DateTime lastWrite, string hash, DagFileParseResult result)
    {
        var dags = new List<Dag>(result.Dags.Count);
        var errors = new List<DagImportError>(result.Errors);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dag in result.Dags)
        {
            try
            {
                dag.Validate();
            }
            catch (SiroccoException e)
            {
                errors.Add(new DagImportError(path, $"{path}: {e.Message}"));
                continue;
            }

            if (!ids.Add(dag.DagId))
            {
                errors.Add(new DagImportError(path, $"{path}: DAG id '{dag.DagId}' is returned twice by this file; the second was ignored"));
                continue;
            }

            dag.FileLoc = path;
            dags.Add(dag);
        }

        return new FileState(length, lastWrite, hash, dags, errors);
    }

    private static string Decode(byte[] bytes)
    {
        var span = bytes.AsSpan();
        if (span.StartsWith(Encoding.UTF8.Preamble))
        {
            span = span[Encoding.UTF8.Preamble.Length..];
        }

        return Encoding.UTF8.GetString(span);
    }

    private static DagImportError Merge(string path, List<DagImportError> errors)
    {
        if (errors.Count == 1)
        {
            return errors[0];
        }

        var first = errors[0];
        return new DagImportError(path, string.Join('\n', errors.Select(e => e.Message))) { Line = first.Line, Column = first.Column };
    }

    private static DagBagResult Assemble(List<string> files, FileOutcome[] outcomes, TimeSpan duration)
    {
        var dags = new SortedDictionary<string, Dag>(StringComparer.Ordinal);
        var importErrors = new List<DagImportError>();
        var fileStats = new List<DagFileStat>(files.Count);
        int parsed = 0, unchanged = 0, compiled = 0, memoryHits = 0, diskHits = 0;
        var compileDuration = TimeSpan.Zero;
        for (var i = 0; i < files.Count; i++)
        {
            var path = files[i];
            var outcome = outcomes[i];
            var errors = new List<DagImportError>(outcome.State.Errors);
            var kept = new List<string>(outcome.State.Dags.Count);
            var tasks = 0;
            foreach (var dag in outcome.State.Dags)
            {
                if (dags.TryGetValue(dag.DagId, out var first))
                {
                    errors.Add(new DagImportError(path, FormatDuplicate(dag.DagId, first.FileLoc ?? "?", path)));
                    continue;
                }

                dags.Add(dag.DagId, dag);
                kept.Add(dag.DagId);
                tasks += dag.Tasks.Count;
            }

            if (errors.Count > 0)
            {
                importErrors.Add(Merge(path, errors));
            }

            fileStats.Add(new DagFileStat(path, outcome.Origin, kept.Count, errors.Count > 0, outcome.Duration)
            {
                TaskCount = tasks,
                DagIds = kept,
            });
            compileDuration += outcome.CompileDuration;
            switch (outcome.Origin)
            {
                case DagFileOrigin.Unchanged:
                    unchanged++;
                    break;
                case DagFileOrigin.Compiled:
                    parsed++;
                    compiled++;
                    break;
                case DagFileOrigin.MemoryCache:
                    parsed++;
                    memoryHits++;
                    break;
                case DagFileOrigin.DiskCache:
                    parsed++;
                    diskHits++;
                    break;
                default:
                    parsed++;
                    break;
            }
        }

        return new DagBagResult(dags, importErrors, files)
        {
            Stats = new DagBagStats
            {
                Files = files.Count,
                FilesParsed = parsed,
                FilesUnchanged = unchanged,
                Compiled = compiled,
                MemoryCacheHits = memoryHits,
                DiskCacheHits = diskHits,
                Duration = duration,
                CompileDuration = compileDuration,
            },
            FileStats = fileStats,
        };
    }

    private sealed record FileState(long Length, DateTime LastWriteUtc, string ContentHash, IReadOnlyList<Dag> Dags, IReadOnlyList<DagImportError> Errors);

    private readonly record struct FileOutcome(FileState State, DagFileOrigin Origin, TimeSpan Duration, TimeSpan CompileDuration = default, bool Retry = false);
}
