using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;

namespace Sirocco.DagFiles.CSharp;

/// <summary>
/// Compiles a C# DAG file as a Roslyn script, caches the assembly by content hash (memory, then disk), and runs the
/// script's factory on a dedicated thread under the parse timeout.
/// </summary>
internal sealed class CSharpDagFileParser : IDagFileParser, IDisposable
{
    /// <summary>The compiler is stopped after the parse timeout, but never sooner than this (its first run warms up).</summary>
    private static readonly TimeSpan MinimumCompileBudget = TimeSpan.FromSeconds(60);

    private const int KeyLength = 64; // SHA-256, hex

    /// <summary>
    /// The deepest nesting of code compiled. Roslyn's binder recurses once per level of some constructs (a prefix
    /// operator applied 20,000 times) with no guard, and a stack overflow ends the whole process; DAG files nest far less.
    /// </summary>
    private const int MaxSyntaxDepth = 256;

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdef");

    private readonly DagBagOptions _options;
    private readonly Lazy<ScriptEnvironment> _environment;
    private readonly Dictionary<string, Lazy<CompiledDagScript>> _cache = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _useCounts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _keyByFile = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public CSharpDagFileParser(DagBagOptions options)
    {
        _options = options;
        _environment = new Lazy<ScriptEnvironment>(() => ScriptEnvironment.Get(options.MetadataReferencePaths, options.Imports));
    }

    /// <inheritdoc/>
    public IReadOnlyCollection<string> FileExtensions { get; } = [".cs"];

    /// <summary>How long the compiler may run on one file: the parse timeout, at least 60 s.</summary>
    public static TimeSpan CompileBudget(TimeSpan parseTimeout) =>
        parseTimeout > MinimumCompileBudget ? parseTimeout : MinimumCompileBudget;

    /// <inheritdoc/>
    public async Task<DagFileParseResult> ParseAsync(DagFileParseRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var env = _environment.Value;
        var key = env.CacheKey(request.Text);
        var script = GetOrCompile(key, request);
        var origin = script.Claim();
        var compileDuration = origin == DagFileOrigin.Compiled ? script.CompileDuration : TimeSpan.Zero;

        if (script.Factory is null)
        {
            return new DagFileParseResult([], [CompileError(request.FilePath, script.Errors)])
            {
                Origin = origin,
                CompileDuration = compileDuration,
            };
        }

        var run = Task.Factory.StartNew(
                () => RunAsync(script.Factory),
                CancellationToken.None,
                TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach,
                TaskScheduler.Default)
            .Unwrap();
        DagImportError? error = null;
        IReadOnlyList<Dag> dags = [];
        try
        {
            var (value, wrongResult) = await run.WaitAsync(request.Timeout, _options.TimeProvider, cancellationToken)
                .ConfigureAwait(false);
            dags = value;
            if (wrongResult is not null)
            {
                error = new DagImportError(request.FilePath, $"{request.FilePath}: {wrongResult}");
            }
        }
        catch (TimeoutException) when (!run.IsCompleted)
        {
            // The thread cannot be aborted: it is left to finish (or hang) on its own, and the file's result is kept
            // until its content changes, so the file is not run again meanwhile.
            _ = run.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            var seconds = request.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            error = new DagImportError(request.FilePath, $"DAG file {request.FilePath} timed out after {seconds} s");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            error = RuntimeError(request.FilePath, e, script.Assembly);
        }

        return new DagFileParseResult(dags, error is null ? [] : [error]) { Origin = origin, CompileDuration = compileDuration };
    }

    /// <summary>Forgets a file that disappeared; its compiled form is unloaded when no other file uses it.</summary>
    public void Release(string filePath)
    {
        lock (_gate)
        {
            if (_keyByFile.Remove(filePath, out var key))
            {
                Unuse(key);
            }
        }
    }

    /// <summary>
    /// Deletes disk-cache entries (and stray temporary files) not written or used for <paramref name="retention"/>,
    /// except those of the files this parser currently holds. A cache hit refreshes its entry's time.
    /// </summary>
    public void PruneDiskCache(TimeSpan retention)
    {
        if (_options.CacheFolder is not { } folder || !Directory.Exists(folder))
        {
            return;
        }

        HashSet<string> inUse;
        lock (_gate)
        {
            inUse = new HashSet<string>(_keyByFile.Values, StringComparer.Ordinal);
        }

        var cutoff = _options.TimeProvider.GetUtcNow().UtcDateTime - retention;
        foreach (var path in Directory.EnumerateFiles(folder))
        {
            // Only this cache's own files: <64 hex digits>.dll / .errors.json, and their temporary files.
            var name = Path.GetFileName(path);
            if (name.Length <= KeyLength || name[KeyLength] != '.' || name.AsSpan(0, KeyLength).ContainsAnyExcept(HexDigits)
                || inUse.Contains(name[..KeyLength]))
            {
                continue;
            }

            try
            {
                if (File.GetLastWriteTimeUtc(path) < cutoff)
                {
                    File.Delete(path);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another process may be using or replacing it: leave it for the next time.
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var entry in _cache.Values)
            {
                if (entry.IsValueCreated)
                {
                    entry.Value.Context?.Unload();
                }
            }

            _cache.Clear();
            _useCounts.Clear();
            _keyByFile.Clear();
        }
    }

    private static async Task<(IReadOnlyList<Dag> Dags, string? WrongResult)> RunAsync(Func<object?[], Task<object?>> factory)
    {
        // Slot 0 is the (absent) globals object, slot 1 this submission.
        var value = await factory(new object?[2]).ConfigureAwait(false);
        switch (value)
        {
            case null:
                return ([], null);
            case Dag dag:
                return ([dag], null);
            case IEnumerable<Dag> many:
                var list = many.ToList();
                return list.Contains(null!)
                    ? ([.. list.Where(d => d is not null)], "the returned collection contains null")
                    : (list, null);
            default:
                return ([], $"returned {value.GetType().FullName}; a DAG file must return a Dag or an IEnumerable<Dag>");
        }
    }

    private static DagImportError CompileError(string filePath, IReadOnlyList<CompileDiagnostic> errors)
    {
        var text = new StringBuilder();
        foreach (var e in errors)
        {
            if (text.Length > 0)
            {
                text.Append('\n');
            }

            if (e.Id.Length == 0)
            {
                text.Append(e.Message);
                continue;
            }

            var where = e.Line > 0 ? string.Create(CultureInfo.InvariantCulture, $"{filePath}({e.Line},{e.Column})") : filePath;
            text.Append(CultureInfo.InvariantCulture, $"{where}: error {e.Id}: {e.Message}");
        }

        var first = errors.Count > 0 ? errors[0] : null;
        return new DagImportError(filePath, text.ToString())
        {
            Line = first is { Line: > 0 } ? first.Line : null,
            Column = first is { Line: > 0 } ? first.Column : null,
        };
    }

    private static DagImportError RuntimeError(string filePath, Exception exception, Assembly? scriptAssembly)
    {
        while (exception is AggregateException { InnerExceptions.Count: 1 } or TargetInvocationException && exception.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        int? line = null;
        var trace = new StackTrace(exception, fNeedFileInfo: true);
        foreach (var frame in trace.GetFrames())
        {
            if (scriptAssembly is not null && frame.GetMethod()?.Module.Assembly == scriptAssembly && frame.GetFileLineNumber() > 0)
            {
                line = frame.GetFileLineNumber();
                break;
            }
        }

        var where = line is { } l ? $"{filePath}({l.ToString(CultureInfo.InvariantCulture)})" : filePath;
        return new DagImportError(filePath, $"{where}: {exception.GetType().FullName}: {exception.Message}") { Line = line };
    }

    private CompiledDagScript GetOrCompile(string key, DagFileParseRequest request)
    {
        Lazy<CompiledDagScript> entry;
        lock (_gate)
        {
            if (!_cache.TryGetValue(key, out entry!))
            {
                entry = new Lazy<CompiledDagScript>(() => LoadOrCompile(key, request), LazyThreadSafetyMode.ExecutionAndPublication);
                _cache[key] = entry;
            }

            if (!_keyByFile.TryGetValue(request.FilePath, out var previous) || !string.Equals(previous, key, StringComparison.Ordinal))
            {
                _keyByFile[request.FilePath] = key;
                _useCounts[key] = _useCounts.GetValueOrDefault(key) + 1;
                if (previous is not null)
                {
                    Unuse(previous);
                }
            }
        }

        return entry.Value;
    }

    private void Unuse(string key)
    {
        var count = _useCounts.GetValueOrDefault(key) - 1;
        if (count > 0)
        {
            _useCounts[key] = count;
            return;
        }

        _useCounts.Remove(key);
        if (_cache.Remove(key, out var entry) && entry.IsValueCreated)
        {
            // Cooperative: the assembly stays alive while a DAG or a running thread still refers to it.
            entry.Value.Context?.Unload();
        }
    }

    private CompiledDagScript LoadOrCompile(string key, DagFileParseRequest request)
    {
        var env = _environment.Value;
        var cacheFolder = _options.CacheFolder;
        if (cacheFolder is not null && TryLoadFromDisk(env, cacheFolder, key) is { } cached)
        {
            return cached;
        }

        var started = _options.TimeProvider.GetTimestamp();
        var tree = CSharpSyntaxTree.ParseText(
            SourceText.From(request.Text, Encoding.UTF8, SourceHashAlgorithm.Sha256),
            env.ParseOptions,
            request.FilePath);
        if (TooDeep(tree.GetRoot()) is { } deep)
        {
            var at = deep.GetLocation().GetLineSpan().StartLinePosition;
            CompileDiagnostic[] refused = [new(at.Line + 1, at.Character + 1, "SIROCCO0003", $"the code is nested more than {MaxSyntaxDepth} levels deep here")];
            return CompiledDagScript.Failed(refused, DagFileOrigin.Compiled, _options.TimeProvider.GetElapsedTime(started));
        }

        var compilation = env.CreateCompilation(tree);
        using var pe = new MemoryStream();
        EmitResult emitted;
        var budget = CompileBudget(_options.ParseTimeout);
        using (var compileTimeout = new CancellationTokenSource(budget, _options.TimeProvider))
        {
            try
            {
                emitted = compilation.Emit(
                    pe,
                    options: new EmitOptions(debugInformationFormat: DebugInformationFormat.Embedded),
                    cancellationToken: compileTimeout.Token);
            }
            catch (OperationCanceledException) when (compileTimeout.IsCancellationRequested)
            {
                // Not written to the disk cache: a busy machine must not make a file fail for good.
                var seconds = budget.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
                CompileDiagnostic[] timedOut = [new(0, 0, "SIROCCO0001", $"compilation did not finish within {seconds} s")];
                return CompiledDagScript.Failed(timedOut, DagFileOrigin.Compiled, _options.TimeProvider.GetElapsedTime(started));
            }
        }

        var duration = _options.TimeProvider.GetElapsedTime(started);
        if (!emitted.Success)
        {
            var all = emitted.Diagnostics
                .Where(d => d.Severity == DiagnosticSeverity.Error)
                .OrderBy(d => d.Location.SourceSpan.Start)
                .ToList();
            var shown = Math.Max(1, _options.MaxCompileErrorsPerFile);
            var errors = all.Take(shown).Select(ToCompileDiagnostic).ToList();
            if (errors.Count == 0)
            {
                // Roslyn emits no script, and says nothing, for a file without a statement (empty, or only comments).
                errors.Add(new CompileDiagnostic(0, 0, "SIROCCO0002", "the file has no statement: a C# DAG file returns a Dag or an IEnumerable<Dag>"));
            }

            if (all.Count > shown)
            {
                // No id: formatted as a plain line after the errors shown.
                errors.Add(new CompileDiagnostic(0, 0, string.Empty, string.Create(CultureInfo.InvariantCulture, $"... and {all.Count - shown} more errors")));
            }

            if (cacheFolder is not null)
            {
                WriteAtomically(cacheFolder, key + ".errors.json", JsonSerializer.SerializeToUtf8Bytes(errors));
            }

            return CompiledDagScript.Failed(errors, DagFileOrigin.Compiled, duration);
        }

        if (cacheFolder is not null)
        {
            WriteAtomically(cacheFolder, key + ".dll", pe.ToArray());
        }

        pe.Position = 0;
        return Load(env, key, pe, DagFileOrigin.Compiled, duration);
    }

    /// <summary>
    /// The first node nested deeper than <see cref="MaxSyntaxDepth"/>, or null (walked without recursion). The left operand
    /// of a binary operator is not a level: the compiler binds chains such as <c>a + b + c</c> in a loop.
    /// </summary>
    private static SyntaxNode? TooDeep(SyntaxNode root)
    {
        var pending = new Stack<(SyntaxNode Node, int Depth)>();
        pending.Push((root, 0));
        while (pending.TryPop(out var item))
        {
            if (item.Depth > MaxSyntaxDepth)
            {
                return item.Node;
            }

            foreach (var child in item.Node.ChildNodes())
            {
                var sameLevel = item.Node is Microsoft.CodeAnalysis.CSharp.Syntax.BinaryExpressionSyntax binary && child == binary.Left;
                pending.Push((child, sameLevel ? item.Depth : item.Depth + 1));
            }
        }

        return null;
    }

    private CompiledDagScript? TryLoadFromDisk(ScriptEnvironment env, string cacheFolder, string key)
    {
        try
        {
            var dll = Path.Combine(cacheFolder, key + ".dll");
            if (File.Exists(dll))
            {
                using var pe = new MemoryStream(File.ReadAllBytes(dll));
                var loaded = Load(env, key, pe, DagFileOrigin.DiskCache, TimeSpan.Zero);
                Touch(dll);
                return loaded;
            }

            var errorsPath = Path.Combine(cacheFolder, key + ".errors.json");
            if (File.Exists(errorsPath))
            {
                var errors = JsonSerializer.Deserialize<List<CompileDiagnostic>>(File.ReadAllBytes(errorsPath));
                if (errors is { Count: > 0 })
                {
                    Touch(errorsPath);
                    return CompiledDagScript.Failed(errors, DagFileOrigin.DiskCache, TimeSpan.Zero);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException or JsonException)
        {
            // A damaged or unreadable entry is compiled again (and rewritten).
        }

        return null;
    }

    /// <summary>Marks a cache entry as used, so pruning keeps it.</summary>
    private void Touch(string path)
    {
        try
        {
            File.SetLastWriteTimeUtc(path, _options.TimeProvider.GetUtcNow().UtcDateTime);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Read-only cache: pruning may then remove it after the retention, and it is compiled again.
        }
    }

    private static CompiledDagScript Load(
        ScriptEnvironment env, string key, Stream pe, DagFileOrigin origin, TimeSpan compileDuration)
    {
        var context = new DagScriptLoadContext("sirocco-dag-" + key[..16], env.HostAssemblyPaths);
        var assembly = context.LoadScript(pe);
        var type = assembly.GetType(ScriptEnvironment.ScriptClassName, throwOnError: true)!;
        var method = type.GetMethod("<Factory>", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new InvalidOperationException("The compiled DAG file has no script factory");
        var factory = method.CreateDelegate<Func<object?[], Task<object?>>>();
        return CompiledDagScript.Loaded(factory, assembly, context, origin, compileDuration);
    }

    private static CompileDiagnostic ToCompileDiagnostic(Diagnostic diagnostic)
    {
        var span = diagnostic.Location.GetLineSpan();
        var line = span.IsValid ? span.StartLinePosition.Line + 1 : 0;
        var column = span.IsValid ? span.StartLinePosition.Character + 1 : 0;
        return new CompileDiagnostic(line, column, diagnostic.Id, diagnostic.GetMessage(CultureInfo.InvariantCulture));
    }

    private static void WriteAtomically(string folder, string fileName, byte[] content)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var target = Path.Combine(folder, fileName);
            var temp = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllBytes(temp, content);
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The disk cache is an optimisation: a file that cannot be written is compiled again next time.
        }
    }
}

