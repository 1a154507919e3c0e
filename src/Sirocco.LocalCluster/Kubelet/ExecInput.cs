namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Where an exec session's stdin goes: the terminal when there is one, else the command's stdin pipe once the command
/// has started (what the client sends earlier waits for it, in order). The end of stdin closes the pipe; a terminal
/// has no end of input to close, so it gets the end-of-file character, as a user typing ^D.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ExecInput(bool wanted, Pty? pty)
{
    private readonly TaskCompletionSource<Stream?> _pipe = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private bool _closed = !wanted;

    /// <summary>Gives the started command's stdin pipe (closed at once when the client wants no stdin or already ended it).</summary>
    public void Started(Stream pipe)
    {
        lock (_gate)
        {
            if (pty is not null || _closed)
            {
                ClosePipe(pipe);
                _pipe.TrySetResult(null);
                return;
            }
        }

        _pipe.TrySetResult(pipe);
    }

    /// <summary>The command could not start: input is dropped.</summary>
    public void Failed() => _pipe.TrySetResult(null);

    public async Task WriteAsync(ReadOnlyMemory<byte> data)
    {
        if (pty is not null)
        {
            lock (_gate)
            {
                if (!_closed)
                {
                    Write(pty, data.Span);
                }
            }

            return;
        }

        if (await _pipe.Task.ConfigureAwait(false) is not { } pipe || Volatile.Read(ref _closed))
        {
            return;
        }

        try
        {
            await pipe.WriteAsync(data).ConfigureAwait(false);
            await pipe.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The command closed its stdin.
        }
    }

    public void Close()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            if (pty is not null)
            {
                Write(pty, [4]);
                return;
            }
        }

        if (_pipe.Task.IsCompletedSuccessfully && _pipe.Task.Result is { } pipe)
        {
            ClosePipe(pipe);
        }
    }

    private static void Write(Pty pty, ReadOnlySpan<byte> data)
    {
        try
        {
            pty.Write(data);
        }
        catch (IOException)
        {
            // The command has gone.
        }
    }

    private static void ClosePipe(Stream pipe)
    {
        try
        {
            pipe.Close();
        }
        catch (IOException)
        {
            // Already closed.
        }
    }
}
