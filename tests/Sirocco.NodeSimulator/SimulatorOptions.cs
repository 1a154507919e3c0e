using System.Globalization;

namespace Sirocco.NodeSimulator;

/// <summary>Command-line options of the node simulator.</summary>
internal sealed record SimulatorOptions(string Kubeconfig, string NodeName, bool Bind, TimeSpan DefaultRunFor)
{
    /// <summary>With <see cref="Bind"/>, only pods asking for this scheduler are bound (null: every unbound pod).</summary>
    public string? SchedulerName { get; init; }

    /// <summary>How many pods are brought a step further at once.</summary>
    public int Workers { get; init; } = 4;

    /// <summary>The node's pod capacity as it reports it.</summary>
    public int PodCapacity { get; init; } = 250;

    /// <summary>
    /// Serve container logs as a kubelet does (<c>/containerLogs/NS/POD/CONTAINER</c> over https on 127.0.0.1, the
    /// node's only address), so the API server's <c>pods/log</c> works: each container's output is the pod's
    /// <see cref="LogAnnotation"/>, stamped from the container's start, followed until the pod's run time is over.
    /// </summary>
    public bool ServeLogs { get; init; }

    /// <summary>The container output the simulated kubelet serves (lines separated by <c>\n</c>).</summary>
    public const string LogAnnotation = "fake-kubelet/log";

    /// <summary>How long a run-to-completion pod runs, e.g. <c>5s</c>, <c>500ms</c> or <c>1m</c>.</summary>
    public const string RunForAnnotation = "fake-kubelet/run-for";

    /// <summary>The exit code of a run-to-completion pod's containers; non-zero makes the pod Failed.</summary>
    public const string ExitCodeAnnotation = "fake-kubelet/exit-code";

    /// <summary>
    /// How late the node reports a run-to-completion pod's end (e.g. <c>8s</c>): its log stream ends when the run time is
    /// over, its terminated status only this much later, as from a busy node or API server.
    /// </summary>
    public const string StatusDelayAnnotation = "fake-kubelet/status-delay";

    /// <summary>Time between two lines of the log annotation (e.g. <c>1s</c>; 1 ms when not given).</summary>
    public const string LogLineIntervalAnnotation = "fake-kubelet/log-line-interval";

    /// <summary>
    /// A followed log stream opened before this long after the container started (e.g. <c>2s</c>) ends then, although
    /// the container runs on, as when a kubelet restarts; streams opened later serve the rest.
    /// </summary>
    public const string LogCutAfterAnnotation = "fake-kubelet/log-cut-after";

    public static SimulatorOptions Parse(string[] args)
    {
        var kubeconfig = Environment.GetEnvironmentVariable("KUBECONFIG") ?? string.Empty;
        var node = "fake-node-0";
        var bind = true;
        var runFor = TimeSpan.FromSeconds(2);
        string? schedulerName = null;
        var workers = 4;
        var pods = 250;
        var serveLogs = false;
        for (var i = 0; i < args.Length; i++)
        {
            var (name, value) = Split(args, ref i);
            switch (name)
            {
                case "--kubeconfig":
                    kubeconfig = value;
                    break;
                case "--node-name":
                    node = value;
                    break;
                case "--bind":
                    bind = bool.TryParse(value, out var b) ? b : throw new ArgumentException($"--bind: expected true or false, got '{value}'");
                    break;
                case "--default-run-for":
                    runFor = ParseDuration(value) ?? throw new ArgumentException($"--default-run-for: not a duration: '{value}'");
                    break;
                case "--scheduler-name":
                    schedulerName = value;
                    break;
                case "--workers":
                    workers = Positive(name, value);
                    break;
                case "--pods":
                    pods = Positive(name, value);
                    break;
                case "--serve-logs":
                    serveLogs = bool.TryParse(value, out var s) ? s : throw new ArgumentException($"--serve-logs: expected true or false, got '{value}'");
                    break;
                default:
                    throw new ArgumentException($"unknown option '{name}'");
            }
        }

        if (kubeconfig.Length == 0)
        {
            throw new ArgumentException("--kubeconfig (or KUBECONFIG) is required");
        }

        return new SimulatorOptions(kubeconfig, node, bind, runFor) { SchedulerName = schedulerName, Workers = workers, PodCapacity = pods, ServeLogs = serveLogs };
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"{name}: expected a positive whole number, got '{value}'");

    /// <summary>A Go-style duration with one unit (<c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>) or plain seconds; null if not one.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, seconds) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0)
            {
                return TimeSpan.FromSeconds(n * seconds);
            }
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain) && plain >= 0
            ? TimeSpan.FromSeconds(plain)
            : null;
    }

    private static (string Name, string Value) Split(string[] args, ref int i)
    {
        var arg = args[i];
        var eq = arg.IndexOf('=', StringComparison.Ordinal);
        if (eq > 0)
        {
            return (arg[..eq], arg[(eq + 1)..]);
        }

        if (i + 1 >= args.Length)
        {
            throw new ArgumentException($"{arg} needs a value");
        }

        return (arg, args[++i]);
    }
}
