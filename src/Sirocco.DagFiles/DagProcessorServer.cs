using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Sirocco.DagFiles.Processing;

namespace Sirocco.DagFiles;

/// <summary>
/// The child's side of <see cref="DagProcessorOptions"/>: a host command (the CLI's hidden <c>dag-processor-child</c>)
/// calls <see cref="RunAsync"/> with its standard input and output. Each request line names a file and carries its text;
/// the file is parsed here, with this process's parsers and caches (a C# file compiled here lands in the shared disk
/// cache, so the host then loads it without compiling), and one reply line says which DAGs it built or what failed.
/// </summary>
public static class DagProcessorServer
{
    /// <summary>Serves requests until <paramref name="input"/> ends.</summary>
    /// <param name="options">How to parse: the same parsers, cache folder and timeout as the host's, with no <see cref="DagBagOptions.Processor"/>.</param>
    /// <param name="input">Requests, one JSON line each (the host's writes to the child's standard input).</param>
    /// <param name="output">Replies, one JSON line each. Nothing else may write to it: the host redirects <see cref="Console.Out"/> elsewhere.</param>
    /// <param name="cancellationToken">Stops serving.</param>
    /// <returns>A task that completes when the input ends.</returns>
    public static async Task RunAsync(DagBagOptions options, Stream input, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        if (options.Processor is not null)
        {
            throw new ArgumentException("a DAG processor parses in its own process: DagBagOptions.Processor must be null", nameof(options));
        }

        using var bag = new DagBag(options);
        var busy = new StrongBox<bool>();
        using var memoryWatch = WatchMemory(busy);
        using var reader = new StreamReader(input, new UTF8Encoding(false));
        await using var writer = new StreamWriter(output, new UTF8Encoding(false)) { NewLine = "\n" };
        // Ready: a reply of id 0 before the first request.
        await writer.WriteLineAsync(JsonSerializer.Serialize(new ProcessorReply(0, [], [], DagFileOrigin.Parsed, 0, false), ProcessorJson.Default.ProcessorReply).AsMemory(), cancellationToken).ConfigureAwait(false);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var request = JsonSerializer.Deserialize(line, ProcessorJson.Default.ProcessorRequest)
                ?? throw new InvalidDataException("empty request");
            Volatile.Write(ref busy.Value, true);
            var reply = await bag.ServeAsync(request, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref busy.Value, false);
            await writer.WriteLineAsync(JsonSerializer.Serialize(reply, ProcessorJson.Default.ProcessorReply).AsMemory(), cancellationToken).ConfigureAwait(false);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// With a limit from the host, checks the managed memory in use every 50 ms on a thread of its own (a file hogging
    /// the thread pool cannot delay it); past the limit while a file runs, the process says so on standard error and
    /// ends, so the host reports that file. (At the runtime's own heap limit a process may crash without a word.)
    /// </summary>
    private static MemoryWatch? WatchMemory(StrongBox<bool> busy)
    {
        if (!long.TryParse(Environment.GetEnvironmentVariable(DagProcessorChild.MemoryLimitVariable), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var limit) || limit <= 0)
        {
            return null;
        }

        return new MemoryWatch(limit, busy);
    }

    /// <summary>The sampling thread of <see cref="WatchMemory"/>; disposing it stops the thread.</summary>
    private sealed class MemoryWatch : IDisposable
    {
        private readonly ManualResetEventSlim _stop = new();

        public MemoryWatch(long limit, StrongBox<bool> busy)
        {
            var message = Encoding.UTF8.GetBytes($"{DagProcessorChild.MemoryLimitMarker}: more than {limit / (1024 * 1024)} MiB in use\n");
            var stderr = Console.OpenStandardError();
            var thread = new Thread(() =>
            {
                while (!_stop.Wait(TimeSpan.FromMilliseconds(50)))
                {
                    // Only while a file runs; garbage is collected before the process ends itself.
                    if (Volatile.Read(ref busy.Value) && GC.GetTotalMemory(forceFullCollection: false) > limit
                        && GC.GetTotalMemory(forceFullCollection: true) > limit)
                    {
                        stderr.Write(message);
                        stderr.Flush();
                        Environment.Exit(DagProcessorChild.MemoryLimitExitCode);
                    }
                }
            })
            {
                IsBackground = true,
                Name = "DAG processor memory watch",
            };
            thread.Start();
        }

        public void Dispose()
        {
            _stop.Set();
        }
    }
}
