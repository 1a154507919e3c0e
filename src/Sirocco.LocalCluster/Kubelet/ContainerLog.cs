using System.Globalization;
using System.Text;
using Sirocco.LocalCluster.Api;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>One line of a container's output with the time it was read.</summary>
internal sealed record LogLine(DateTimeOffset Time, bool Partial, byte[] Content);

/// <summary>
/// The log of one run of one container, kept in a file in the CRI layout
/// (<c>timestamp stream F|P content</c>) so it can be read back, tailed and followed.
/// </summary>
internal sealed class ContainerLog : IDisposable
{
    private const int MaxLine = 16 * 1024;

    private readonly Lock _gate = new();
    private FileStream? _writer;
    private readonly TimeProvider _time;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ContainerLog(string path, TimeProvider time)
    {
        Path = path;
        _time = time;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _writer = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
    }

    private ContainerLog(string path)
    {
        Path = path;
        _time = TimeProvider.System;
        Ended = true;
    }

    public string Path { get; }

    /// <summary>The log of a run that ended before the cluster last started, read from its file.</summary>
    public static ContainerLog Existing(string path) => new(path);

    /// <summary>True once the container's output has ended.</summary>
    public bool Ended { get; private set; }

    /// <summary>Reads the container's merged stdout and stderr until it closes; the caller then calls <see cref="End"/>.</summary>
    public async Task PumpAsync(Stream output)
    {
        var buffer = new byte[8192];
        var pending = new MemoryStream();
        try
        {
            int read;
            while ((read = await output.ReadAsync(buffer).ConfigureAwait(true)) > 0)
            {
                var start = 0;
                for (var i = 0; i < read; i++)
                {
                    if (buffer[i] == (byte)'\n')
                    {
                        pending.Write(buffer, start, i - start);
                        Append(pending.ToArray(), partial: false);
                        pending.SetLength(0);
                        start = i + 1;
                    }
                }

                pending.Write(buffer, start, read - start);
                while (pending.Length >= MaxLine)
                {
                    var all = pending.ToArray();
                    Append(all[..MaxLine], partial: true);
                    pending.SetLength(0);
                    pending.Write(all, MaxLine, all.Length - MaxLine);
                }
            }
        }
        catch (IOException)
        {
            // The pipe broke: the process is gone.
        }
        finally
        {
            if (pending.Length > 0)
            {
                Append(pending.ToArray(), partial: true);
            }
        }
    }

    public void Append(byte[] content, bool partial)
    {
        var prefix = Encoding.ASCII.GetBytes($"{Time.Nano(_time.GetUtcNow())} stdout {(partial ? 'P' : 'F')} ");
        lock (_gate)
        {
            if (_writer is null)
            {
                return;
            }

            _writer.Write(prefix);
            _writer.Write(content);
            _writer.WriteByte((byte)'\n');
            _writer.Flush();
            Signal();
        }
    }

    /// <summary>The run is over: closes the file (a finished pod holds no descriptor) and wakes followers.</summary>
    public void End()
    {
        lock (_gate)
        {
            _writer?.Dispose();
            _writer = null;
            Ended = true;
            Signal();
        }
    }

    /// <summary>A task that completes at the next append or at the end of the output.</summary>
    public Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Reads the complete lines after <paramref name="offset"/> and moves it past them.</summary>
    public List<LogLine> ReadFrom(ref long offset)
    {
        var lines = new List<LogLine>();
        byte[] bytes;
        using (var reader = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            if (offset >= reader.Length)
            {
                return lines;
            }

            reader.Seek(offset, SeekOrigin.Begin);
            bytes = new byte[reader.Length - offset];
            reader.ReadExactly(bytes);
        }

        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != (byte)'\n')
            {
                continue;
            }

            var line = bytes.AsSpan(start, i - start);
            var s1 = line.IndexOf((byte)' ');
            var s2 = s1 < 0 ? -1 : line[(s1 + 1)..].IndexOf((byte)' ') + s1 + 1;
            if (s1 > 0 && s2 > s1 && line.Length >= s2 + 3)
            {
                var time = DateTimeOffset.Parse(Encoding.ASCII.GetString(line[..s1]), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
                lines.Add(new LogLine(time, line[s2 + 1] == (byte)'P', line[(s2 + 3)..].ToArray()));
            }

            start = i + 1;
        }

        offset += start;
        return lines;
    }

    public void Dispose() => End();

    private void Signal()
    {
        var done = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.TrySetResult();
    }
}
