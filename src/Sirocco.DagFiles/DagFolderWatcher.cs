namespace Sirocco.DagFiles;

/// <summary>
/// Turns file-system events under the dags folder into one debounced "changed" signal. A change counts from the
/// moment it is reported until the next collection starts, so a change that happens while the scheduler is busy
/// collecting is not lost.
/// </summary>
internal sealed class DagFolderWatcher : IDisposable
{
    /// <summary>Without a running watcher (no folder yet, or no inotify instance left), a change is assumed this often.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    private readonly string _folder;
    private readonly TimeSpan _debounce;
    private readonly TimeProvider _timeProvider;
    private readonly Func<string, bool> _isRelevant;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private FileSystemWatcher? _watcher;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _version;
    private long _seenVersion;
    private bool _disposed;

    /// <param name="folder">The dags folder.</param>
    /// <param name="debounce">How long the folder must be quiet before a change is reported.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="isRelevant">Whether a changed file path may matter (a DAG file's extension); others are ignored.</param>
    public DagFolderWatcher(string folder, TimeSpan debounce, TimeProvider timeProvider, Func<string, bool> isRelevant)
    {
        _folder = folder;
        _isRelevant = isRelevant;
        _debounce = debounce;
        _timeProvider = timeProvider;
        _timer = timeProvider.CreateTimer(_ => Signal(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        EnsureStarted();
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
            watcher.Renamed += OnRenamed;
            watcher.Error += OnError;
            try
            {
                watcher.EnableRaisingEvents = true;
            }
            catch (IOException)
            {
                // Typically the inotify instance limit: fall back to polling (see WaitAsync).
                watcher.Dispose();
                return;
            }

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

    /// <summary>
    /// Completes once a change was reported after the last collection started or the last wait completed (a
    /// completed wait consumes the change, so waiting again right away does not complete at once).
    /// </summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        Task changed;
        bool watching;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_version > _seenVersion)
            {
                _seenVersion = _version;
                return;
            }

            changed = _changed.Task;
            watching = _watcher is not null;
        }

        if (watching)
        {
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
            MarkCollected();
            return;
        }

        // No watcher (the folder does not exist yet, or the watcher could not start): report a possible change after
        // a short while; collecting an unchanged folder costs only a listing and a stat per file.
        var delay = Task.Delay(PollInterval, _timeProvider, cancellationToken);
        await Task.WhenAny(changed, delay).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureStarted();
        MarkCollected();
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

    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        // A directory (created, deleted, renamed) has no DAG-file extension but may hold DAG files.
        if (_isRelevant(e.FullPath) || !Path.HasExtension(e.FullPath) || Directory.Exists(e.FullPath))
        {
            Restart();
        }
    }

    private void OnRenamed(object sender, RenamedEventArgs e)
    {
        if (_isRelevant(e.OldFullPath))
        {
            Restart();
        }
        else
        {
            OnEvent(sender, e);
        }
    }

    private void OnError(object sender, ErrorEventArgs e)
    {
        // Overflow or a watcher failure: report a change (the next collection rescans everything it needs to) and
        // start a fresh watcher.
        FileSystemWatcher? failed = null;
        lock (_gate)
        {
            if (ReferenceEquals(_watcher, sender))
            {
                failed = _watcher;
                _watcher = null;
            }
        }

        // Not on the failing watcher's own event thread.
        _ = Task.Run(() =>
        {
            failed?.Dispose();
            EnsureStarted();
            Restart();
        });
    }

    /// <summary>Reports a change after <paramref name="delay"/> (or sooner, on a real change): a file to be tried again.</summary>
    public void ChangeAfter(TimeSpan delay)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _ = _timer.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }
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
