namespace Sirocco.Fidelity.Tests.Corpus;

/// <summary>The whole differential corpus: every case, with a namespace of its own (unique per test run).</summary>
public static partial class CorpusCases
{
    private static readonly Lazy<IReadOnlyList<Case>> Cases = new(Build);

    public static IReadOnlyList<Case> All => Cases.Value;

    private static List<Case> Build()
    {
        var run = Guid.NewGuid().ToString("n")[..4];
        var all = new List<Case>();
        all.AddRange(Crud());
        all.AddRange(Names());
        all.AddRange(Labels());
        all.AddRange(Quantities());
        all.AddRange(PodSpecs());
        all.AddRange(Malformed());
        all.AddRange(Selectors());
        all.AddRange(Watches());
        all.AddRange(Deletes());
        all.AddRange(ConfigObjects());
        all.AddRange(Events());
        all.AddRange(PodUpdates());
        all.AddRange(Probes());
        all.AddRange(QueryParameters());
        all.AddRange(Rbac());
        for (var i = 0; i < all.Count; i++)
        {
            all[i].Namespace = all[i].Isolated ? $"f{i:000}-{run}" : $"fshared-{run}";
        }

        var duplicate = all.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null ? all : throw new InvalidOperationException("duplicate case id " + duplicate.Key);
    }

    /// <summary>A pod that runs long enough on both clusters and has an image tag (so imagePullPolicy defaults to IfNotPresent).</summary>
    internal static string Pod(string name, string spec = "", string meta = "") =>
        $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}"{{{meta}}}},"spec":{"containers":[{"name":"c","image":"busybox:1.36","command":["sleep","3600"]}]{{{spec}}}}}""";

    /// <summary>A pod whose containers are given whole.</summary>
    internal static string PodWith(string name, string containers, string spec = "", string meta = "") =>
        $$$"""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"{{{name}}}"{{{meta}}}},"spec":{"containers":{{{containers}}}{{{spec}}}}}""";

    internal static string ConfigMap(string name, string data = """{"k":"v"}""", string meta = "") =>
        $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"{{{name}}}"{{{meta}}}},"data":{{{data}}}}""";

    internal static string Secret(string name, string rest = ""","stringData":{"k":"v"}""", string meta = "") =>
        $$$"""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"{{{name}}}"{{{meta}}}}{{{rest}}}}""";

    internal static string ServiceAccount(string name, string meta = "") =>
        $$$"""{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"{{{name}}}"{{{meta}}}}}""";

    internal static string Event(string name, string rest = "", string meta = "") =>
        $$$"""{"apiVersion":"v1","kind":"Event","metadata":{"name":"{{{name}}}"{{{meta}}}},"involvedObject":{"kind":"Pod","namespace":"{ns}","name":"p"},"reason":"Testing","message":"hello","type":"Normal"{{{rest}}}}""";

    internal static string Namespace(string name, string meta = "") =>
        $$$"""{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"{{{name}}}"{{{meta}}}}}""";

    /// <summary>Namespaced resources served by both: plural, a body maker, whether creating one needs the service account.</summary>
    internal static readonly (string Plural, Func<string, string, string> Make, bool Pods)[] Kinds =
    [
        ("pods", (n, m) => Pod(n, meta: m), true),
        ("configmaps", (n, m) => ConfigMap(n, meta: m), false),
        ("secrets", (n, m) => Secret(n, meta: m), false),
        ("serviceaccounts", (n, m) => ServiceAccount(n, meta: m), false),
        ("events", (n, m) => Event(n, meta: m), false),
    ];

    /// <summary>Reads the pod until it runs (bound by the scheduler and started by the kubelet) on either cluster.</summary>
    internal static Req Running(string name) => Req.Get(P("pods", name)) with { Until = n => n?["status"]?["phase"]?.GetValue<string>() == "Running" };

    internal static string P(string plural, string? name = null) => $"/api/v1/namespaces/{{ns}}/{plural}" + (name is null ? "" : "/" + name);
}
