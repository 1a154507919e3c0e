using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s.Models;
using Sirocco.LocalCluster.Api;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>What the kubelet knows about one container of a pod: its state, process and logs.</summary>
internal sealed class ContainerRun
{
    public ContainerRun(V1Container spec, bool init, string waitingReason)
    {
        Spec = spec;
        Init = init;
        Reason = waitingReason;
    }

    public V1Container Spec { get; }

    public string Name => Spec.Name;

    public bool Init { get; }

    /// <summary><c>waiting</c>, <c>running</c> or <c>terminated</c>.</summary>
    public string State { get; set; } = "waiting";

    public string? Reason { get; set; }

    public string? Message { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public int ExitCode { get; set; }

    public int RestartCount { get; set; }

    public JsonObject? LastTerminated { get; set; }

    public string? ContainerId { get; set; }

    public Process? Process { get; set; }

    /// <summary>The running process's stdin when the container asks for one (<c>stdin: true</c>), for <c>attach</c>.</summary>
    public ContainerStdin? Stdin { get; set; }

    public List<KeyValuePair<string, string>> Environment { get; set; } = [];

    /// <summary>The image the current run uses; null when it runs a host command.</summary>
    public Images.ImageRecord? Image
    {
        get;
        set
        {
            field = value;

            // Worked out once per run, not on every status written.
            ImageId = value is null ? null : Images.ImageReference.Parse(value.Name).Name + "@" + value.ManifestDigest;
        }
    }

    /// <summary>The status's imageID for a run in an image (REPO@sha256:…).</summary>
    private string? ImageId { get; set; }

    /// <summary>The unpacked root folder of the current run's image; null for a host command.</summary>
    public string? RootFs { get; set; }

    /// <summary>The user and group of the current run in its image.</summary>
    public (long Uid, long Gid)? ImageUser { get; set; }

    /// <summary>The logs of every run, the current one last.</summary>
    public List<ContainerLog> Logs { get; } = [];

    public bool Succeeded => State == "terminated" && ExitCode == 0;

    public JsonObject TerminatedJson() => new()
    {
        ["exitCode"] = ExitCode,
        ["reason"] = Reason,
        ["message"] = string.IsNullOrEmpty(Message) ? null : Message,
        ["startedAt"] = StartedAt is { } s ? Time.Seconds(s) : null,
        ["finishedAt"] = FinishedAt is { } f ? Time.Seconds(f) : null,
        ["containerID"] = ContainerId,
    };

    public JsonObject StatusJson()
    {
        var state = State switch
        {
            "running" => new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Time.Seconds(StartedAt!.Value) } },
            "terminated" => new JsonObject { ["terminated"] = Clean(TerminatedJson()) },
            _ => new JsonObject { ["waiting"] = Clean(new JsonObject { ["reason"] = Reason, ["message"] = Message }) },
        };
        var status = new JsonObject
        {
            ["name"] = Name,
            ["state"] = state,
            ["lastState"] = LastTerminated is null ? new JsonObject() : new JsonObject { ["terminated"] = LastTerminated.DeepClone() },
            ["ready"] = State == "running" && !Init,
            ["restartCount"] = RestartCount,
            ["image"] = Spec.Image,
            ["imageID"] = ContainerId is null ? "" : ImageId ?? "local://" + Spec.Image,
            ["started"] = State == "running",
        };
        if (ContainerId is not null)
        {
            status["containerID"] = ContainerId;
        }

        return status;
    }

    private static JsonObject Clean(JsonObject o)
    {
        foreach (var key in o.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            o.Remove(key);
        }

        return o;
    }
}

/// <summary>
/// A container's stdin held open for attached clients. With <c>stdinOnce</c> it closes when the first attached client
/// detaches, as the container runtime does.
/// </summary>
internal sealed class ContainerStdin(Stream stream, bool once)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int _closed;

    public async Task WriteAsync(ReadOnlyMemory<byte> data, CancellationToken token)
    {
        await _gate.WaitAsync(token).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _closed) == 0)
            {
                await stream.WriteAsync(data, token).ConfigureAwait(false);
                await stream.FlushAsync(token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The process closed its stdin, or the container ended.
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>An attached client detached (or closed its stdin).</summary>
    public void Detached()
    {
        if (once)
        {
            Close();
        }
    }

    /// <summary>Closes the container's stdin; a write in progress fails and is dropped.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            try
            {
                stream.Close();
            }
            catch (IOException)
            {
                // Already gone.
            }
        }
    }
}
