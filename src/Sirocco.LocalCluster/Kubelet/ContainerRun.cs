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

    public List<KeyValuePair<string, string>> Environment { get; set; } = [];

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
            ["imageID"] = ContainerId is null ? "" : "local://" + Spec.Image,
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
