namespace Sirocco.DagFiles;

/// <summary>
/// Turns file-system events under the dags folder into one debounced "changed" signal. A change counts from the
/// moment it is reported until the next collection starts, so a change that happens while the scheduler is busy
/// collecting is not lost.
/// </summary>
internal sealed class DagFolderWatcher : IDisposable
{
    private static readonly TimeSpan MissingFolderRecheck = TimeSpan.FromSeconds(2);

    private readonly string _folder;
    private readonly TimeSpan _debounce;
    private readonly TimeProvider _timeProvider;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private FileSystemWatcher? _watcher;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _version;
    private long _seenVersion;
    private bool _disposed;

    public DagFolderWatcher(string folder, TimeSpan debounce, TimeProvider timeProvider)
    {
        _folder = folder;
        _debounce = debounce;
        _timeProvider = timeProvider;
        _timer = timeProvider.CreateTimer(_ => Signal(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        EnsureStarted();
    }

    /// <summary>Whether a file-system watcher is running (false while the folder does not exist).</summary>
    public bool IsWatching
    {
        get
        {
            lock (_gate)
            {
                return _watcher is not null;
            }
        }
    }

    /// <summary>Starts watching if the folder exists now; called again at each collection.</summary>
    public void EnsureStarted()
    {
        lock (_gate)
        {
            if (_disposed || _watcher is not null || !Directory.Exists(_folder))
            {
                return;
            }

            var watcher = new FileSystemWatcher(_folder)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite
                    | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Created += OnEvent;
            watcher.Changed += OnEvent;
            watcher.Deleted += OnEvent;
            watcher.Renamed += OnEvent;
            watcher.Error += OnError;
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
        }
    }

    /// <summary>Called when a collection starts: changes reported so far are being picked up by it.</summary>
    public void MarkCollected()
    {
        lock (_gate)
        {
            _seenVersion = _version;
        }
    }

    /// <summary>Completes once a change was reported after the last collection started.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        Task changed;
        bool watching;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_version > _seenVersion)
            {
                return;
            }

            changed = _changed.Task;
            watching = _watcher is not null;
        }

        if (watching)
        {
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        // The folder does not exist yet: look again shortly, and report a change when it appears.
        while (!Directory.Exists(_folder))
        {
            var delay = Task.Delay(MissingFolderRecheck, _timeProvider, cancellationToken);
            await Task.WhenAny(changed, delay).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (changed.IsCompleted)
            {
                return;
            }
        }

        EnsureStarted();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        FileSystemWatcher? watcher;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            watcher = _watcher;
            _watcher = null;
        }

        watcher?.Dispose();
        _timer.Dispose();
        _changed.TrySetCanceled();
    }

    private void OnEvent(object sender, FileSystemEventArgs e) => Restart();

    private void OnError(object sender, ErrorEventArgs e)
    {
        // Overflow or a watcher failure: report a change (the next collection rescans everything it needs to) and
        // start a fresh watcher.
        lock (_gate)
        {
            if (ReferenceEquals(_watcher, sender))
            {
                _watcher.Dispose();
                _watcher = null;
            }
        }

        EnsureStarted();
        Restart();
    }

    private void Restart()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _ = _timer.Change(_debounce, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _version++;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }
}
