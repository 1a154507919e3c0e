using System.Reflection;

namespace Sirocco.DagFiles.CSharp;

/// <summary>A compile error, kept without its file path so that a cached result serves any file with the same text.</summary>
internal sealed record CompileDiagnostic(int Line, int Column, string Id, string Message);

/// <summary>The compiled form of one file text: a factory to run, or the compile errors.</summary>
internal sealed class CompiledDagScript
{
    private int _claimed;

    private CompiledDagScript(DagFileOrigin origin, TimeSpan compileDuration)
    {
        Origin = origin;
        CompileDuration = compileDuration;
    }

    /// <summary>Runs the file's top-level statements; null when the file did not compile.</summary>
    public Func<object?[], Task<object?>>? Factory { get; private init; }

    /// <summary>The file's assembly (to find its frames in a stack trace).</summary>
    public Assembly? Assembly { get; private init; }

    /// <summary>The collectible context holding <see cref="Assembly"/>.</summary>
    public DagScriptLoadContext? Context { get; private init; }

    /// <summary>The compile errors (empty when <see cref="Factory"/> is set).</summary>
    public IReadOnlyList<CompileDiagnostic> Errors { get; private init; } = [];

    /// <summary>Compiled now, or read from the disk cache.</summary>
    public DagFileOrigin Origin { get; }

    /// <summary>Time spent compiling (zero for a disk-cache hit).</summary>
    public TimeSpan CompileDuration { get; }

    public static CompiledDagScript Loaded(
        Func<object?[], Task<object?>> factory,
        Assembly assembly,
        DagScriptLoadContext context,
        DagFileOrigin origin,
        TimeSpan compileDuration) =>
        new(origin, compileDuration) { Factory = factory, Assembly = assembly, Context = context };

    public static CompiledDagScript Failed(IReadOnlyList<CompileDiagnostic> errors, DagFileOrigin origin, TimeSpan compileDuration) =>
        new(origin, compileDuration) { Errors = errors };

    /// <summary>The first caller gets <see cref="Origin"/>; later callers were served from memory.</summary>
    public DagFileOrigin Claim() =>
        Interlocked.Exchange(ref _claimed, 1) == 0 ? Origin : DagFileOrigin.MemoryCache;
}
