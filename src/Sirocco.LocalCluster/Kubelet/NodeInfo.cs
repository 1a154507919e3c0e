using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Api;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>The single node: this machine's CPUs and memory, as a core/v1 Node.</summary>
internal static class NodeInfo
{
    public const int MaxPods = 1000;

    public static decimal MemoryBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                    return kb * 1024m;
                }
            }
        }
        catch (IOException)
        {
            // Fall through to the GC's view.
        }

        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
    }

    public static JsonObject Build(string name, DateTimeOffset now, string? uid, string? created)
    {
        var memoryKi = ((long)(MemoryBytes() / 1024)).ToString(CultureInfo.InvariantCulture) + "Ki";
        var cpu = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture);
        JsonObject Resources() => new()
        {
            ["cpu"] = cpu,
            ["memory"] = memoryKi,
            ["pods"] = MaxPods.ToString(CultureInfo.InvariantCulture),
            ["ephemeral-storage"] = "10Gi",
        };
        var ts = Time.Seconds(now);
        JsonObject Condition(string type, string status, string reason, string message) => new()
        {
            ["type"] = type,
            ["status"] = status,
            ["lastHeartbeatTime"] = ts,
            ["lastTransitionTime"] = ts,
            ["reason"] = reason,
            ["message"] = message,
        };
        var arch = RuntimeInformation.OSArchitecture switch
        {
            Architecture.Arm64 => "arm64",
            _ => "amd64",
        };
        string kernel;
        try
        {
            kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            kernel = "unknown";
        }

        return new JsonObject
        {
            ["kind"] = "Node",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["uid"] = uid ?? Guid.NewGuid().ToString(),
                ["creationTimestamp"] = created ?? ts,
                ["labels"] = new JsonObject
                {
                    ["kubernetes.io/hostname"] = name,
                    ["kubernetes.io/os"] = "linux",
                    ["kubernetes.io/arch"] = arch,
                    ["beta.kubernetes.io/os"] = "linux",
                    ["beta.kubernetes.io/arch"] = arch,
                },
            },
            ["spec"] = new JsonObject(),
            ["status"] = new JsonObject
            {
                ["capacity"] = Resources(),
                ["allocatable"] = Resources(),
                ["conditions"] = new JsonArray(
                    Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                    Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    Condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                    Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")),
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = "127.0.0.1" },
                    new JsonObject { ["type"] = "Hostname", ["address"] = name }),
                ["daemonEndpoints"] = new JsonObject { ["kubeletEndpoint"] = new JsonObject { ["Port"] = 0 } },
                ["nodeInfo"] = new JsonObject
                {
                    ["machineID"] = "",
                    ["systemUUID"] = "",
                    ["bootID"] = "",
                    ["kernelVersion"] = kernel,
                    ["osImage"] = RuntimeInformation.OSDescription,
                    ["containerRuntimeVersion"] = "bubblewrap://local",
                    ["kubeletVersion"] = Discovery.GitVersion,
                    ["kubeProxyVersion"] = "",
                    ["operatingSystem"] = "linux",
                    ["architecture"] = arch,
                },
            },
        };
    }
}
