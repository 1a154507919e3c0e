namespace Sirocco.DagFiles;

/// <summary>
/// How a <see cref="DagBag"/> starts its DAG-processor child processes. With these options set
/// (<see cref="DagBagOptions.Processor"/>), every new or changed DAG file is first run in a child process, which the
/// host serves with <see cref="DagProcessorServer.RunAsync"/>. A file that loops, overflows the stack, ends the process
/// or allocates past <see cref="MemoryLimitMegabytes"/> becomes an import error naming the file and the cause, and the
/// child is replaced; only a file that loaded in the child is then loaded by the host.
/// </summary>
public sealed class DagProcessorOptions
{
    /// <summary>The program to start (for example the <c>dotnet</c> host, or the application's own executable).</summary>
    public required string FileName { get; init; }

    /// <summary>Its arguments (for example the application's assembly and the command that serves the protocol).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Environment variables set for the child, beside the inherited ones.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The memory a file may use in MiB: the child checks its managed memory and the host samples the child's resident
    /// memory, both every 100 ms while a file runs; past it the child ends and the file gets an import error saying so
    /// (the runtime's heap limit is set at twice this as a backstop). Null or 0: no limit. Leave room for the compiler
    /// (a few hundred MiB).
    /// </summary>
    public int? MemoryLimitMegabytes { get; init; }

    /// <summary>
    /// Where what a child writes to standard error is copied: what DAG files print while they run (a C# file's
    /// <c>Console.WriteLine</c>, a program it starts) and the child's own errors, at most 64 KiB per file. Null: kept
    /// only to explain a crash.
    /// </summary>
    public TextWriter? Output { get; init; }

    /// <summary>
    /// A child unused for this long is ended (one minute by default; null keeps children until the bag is disposed): a
    /// child that compiled keeps the compiler's memory, a few hundred MiB, and a new child starts in about a second.
    /// </summary>
    public TimeSpan? IdleTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a child may take to answer beyond the file's own budget (its start, the reply) before it is stopped (30 s).</summary>
    public TimeSpan ReplyAllowance { get; init; } = TimeSpan.FromSeconds(30);
}
