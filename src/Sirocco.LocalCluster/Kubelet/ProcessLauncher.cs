using System.Diagnostics;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// Starts container processes on two dedicated threads. <see cref="Process.Start()"/> blocks while it forks
/// and execs; doing that on the thread pool under a burst of pods starves the API server's requests. When the cluster
/// has a <see cref="CpuGroup"/>, the threads join it, so what they fork starts inside it. Every process starts with
/// default signal dispositions, as a container runtime starts containers: a signal the cluster's own process ignores
/// (SIGINT and SIGQUIT when it was started in the background of a script) is not ignored by containers, so a
/// container's <c>trap … INT</c> works.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ProcessLauncher(CpuGroup? group, PidsGroups? pids = null) : IDisposable
{
    private readonly DedicatedThreads _threads = new("launcher", 2, group);

    /// <summary>Held by every start (the runtime serializes forks anyway), so a descriptor made inheritable for one start reaches no other.</summary>
    private readonly object _forkGate = new();

    /// <summary>True when the launcher's threads are in the cluster's <see cref="CpuGroup"/>.</summary>
    public bool InCpuGroup => _threads.InCpuGroup;

    /// <summary>Runs <paramref name="work"/> on a launcher thread (work that changes the thread's namespaces and restores them).</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = _threads.Run(() =>
        {
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }

            return Task.CompletedTask;
        });
        return done.Task;
    }

    /// <summary>
    /// Starts <paramref name="start"/>, inside the pids group <paramref name="pidsGroup"/> and the network namespace
    /// <paramref name="network"/> (a descriptor, see <see cref="NetworkNamespace"/>) when given. The descriptor
    /// <paramref name="inherit"/> (close-on-exec) is passed to the new process: it is inheritable only while this start
    /// forks, under a lock every start of the launcher takes, so no other child can inherit it.
    /// </summary>
    public Task<Process> StartAsync(ProcessStartInfo start, string? pidsGroup = null, int? network = null, int? inherit = null)
    {
        // The caller continues elsewhere, never on a launcher thread (an exec session must not hold one).
        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = _threads.Run(() =>
        {
            // Prepared before the thread joins anything: the one-time probe of env starts a process of its own.
            var prepared = WithDefaultSignals(start);
            var joined = pidsGroup is not null && pids is not null && pids.JoinCurrentThread(pidsGroup);
            Process? process = null;
            Exception? error = null;
            var entered = false;
            try
            {
                if (network is { } fd)
                {
                    NetworkNamespace.Enter(fd);
                    entered = true;
                }

                lock (_forkGate)
                {
                    if (inherit is { } kept && Native.SetCloseOnExec(kept, false) is false)
                    {
                        throw new IOException($"could not pass descriptor {kept} to {start.FileName}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
                    }

                    try
                    {
                        process = Process.Start(prepared)!;
                    }
                    finally
                    {
                        if (inherit is { } again)
                        {
                            _ = Native.SetCloseOnExec(again, true);
                        }
                    }
                }
            }
            catch (Exception e)
            {
                error = e; // the caller sees every failure; a start that never completes would hang the pod
            }
            finally
            {
                if (entered)
                {
                    NetworkNamespace.Leave();
                }

                // Back in the cluster's group before anything else runs on this thread: a thread it creates (the
                // thread pool may add a worker when the result is posted) would otherwise be born in the pod's group.
                if (joined)
                {
                    pids!.JoinCurrentThread(null);
                }
            }

            if (process is not null)
            {
                done.TrySetResult(process);
            }
            else
            {
                done.TrySetException(error!);
            }

            return Task.CompletedTask;
        });
        return done.Task;
    }

    public void Dispose() => _threads.Dispose();

    /// <summary>Runs the command through <c>env --default-signal</c> (GNU coreutils 8.31 and later) when it is there.</summary>
    private static ProcessStartInfo WithDefaultSignals(ProcessStartInfo start)
    {
        if (!EnvResetsSignals.Value)
        {
            return start;
        }

        var arguments = start.ArgumentList.ToList();
        start.ArgumentList.Clear();
        foreach (var a in (string[])["--default-signal", "--", start.FileName, .. arguments])
        {
            start.ArgumentList.Add(a);
        }

        start.FileName = EnvPath;
        return start;
    }

    private const string EnvPath = "/usr/bin/env";

    private static readonly Lazy<bool> EnvResetsSignals = new(() =>
    {
        try
        {
            using var probe = Process.Start(new ProcessStartInfo(EnvPath, ["--default-signal", "--", "true"]) { UseShellExecute = false, RedirectStandardError = true });
            if (probe is null || !probe.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                return false;
            }

            return probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });
}
