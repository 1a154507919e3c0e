using System.Text.Json.Nodes;

namespace Sirocco.Fidelity.Tests.Corpus;

/// <summary>
/// One request of a case. <c>{ns}</c> in the path or body is the case's namespace and <c>{rv}</c> the
/// resourceVersion of the last response that had one, on each cluster separately.
/// </summary>
public sealed record Req(string Method, string Path, string? Body = null, string ContentType = "application/json")
{
    /// <summary>For a watch (a GET with <c>watch=1</c>): how many events to read before closing; reading also stops
    /// after two seconds without one.</summary>
    public int Events { get; init; }

    /// <summary>For a GET: poll until this holds of the response (at most 20 s), e.g. until the scheduler has spoken.</summary>
    public Func<JsonNode?, bool>? Until { get; init; }

    /// <summary>Compare the pod's status too (otherwise only its phase on create and its QoS class are compared,
    /// because the two kubelets move pods at different times).</summary>
    public bool WithStatus { get; init; }

    /// <summary>For a watch: compare the events sorted by object name (the initial events of a watch without a
    /// version come in no defined order).</summary>
    public bool Unordered { get; init; }

    /// <summary>A watch from a version that may still be in the real server's watch cache (it keeps what it saw since it
    /// started, up to a size that grows with recent traffic): the local cluster, restarted before the corpus, must end
    /// it with an ERROR event of code 410; the answers are compared when the real server did the same.</summary>
    public bool RetentionDependent { get; init; }

    /// <summary>This answer's resourceVersion does not become <c>{rv}</c> (a change made after a list, to be seen by a
    /// watch resumed from the list's version).</summary>
    public bool KeepsVersion { get; init; }

    /// <summary>A <c>generateName</c> prefix whose random five-character suffix appears in the answer (even in a
    /// Status): the suffix is not compared.</summary>
    public string? GeneratedPrefix { get; init; }

    /// <summary>Sent with a token of this service account of the case's namespace (from a TokenRequest), not the admin's.</summary>
    public string? As { get; init; }

    public static Req Get(string path) => new("GET", path);

    public static Req Post(string path, string body) => new("POST", path, body);

    public static Req Put(string path, string body) => new("PUT", path, body);

    public static Req Delete(string path, string? body = null) => new("DELETE", path, body);

    public static Req MergePatch(string path, string body) => new("PATCH", path, body, "application/merge-patch+json");

    public static Req StrategicPatch(string path, string body) => new("PATCH", path, body, "application/strategic-merge-patch+json");

    public static Req JsonPatch(string path, string body) => new("PATCH", path, body, "application/json-patch+json");

    public static Req Watch(string path, int events) => new("GET", path) { Events = events };
}

/// <summary>
/// A differential case: setup requests (their status codes must agree), then requests whose answers are compared
/// after <see cref="Normalizer"/>. Each case runs in its own namespace, named after it, on both clusters.
/// </summary>
public sealed class Case
{
    public required string Id { get; init; }

    public List<Req> Setup { get; init; } = [];

    public required List<Req> Steps { get; init; }

    /// <summary>Pods are created: wait until the namespace's default service account exists on the real server.</summary>
    public bool NeedsServiceAccount { get; init; }

    /// <summary>Where v1.20 lacks what the local cluster rightly does (a newer Kubernetes feature): the reason, and what
    /// the local cluster must answer instead of agreeing. See docs/local-cluster.md.</summary>
    public (string Reason, int LocalCode)? NewerThanV120 { get; init; }

    /// <summary>What the local cluster does not do by design (see docs/local-cluster.md): the reason, and what it
    /// answers instead.</summary>
    public (string Reason, int LocalCode)? LocalLimitation { get; init; }

    /// <summary>Runs in a namespace of its own; otherwise in the corpus' shared namespace, emptied before each case
    /// (the real server's controllers make a namespace's service account and token at about 7 namespaces a second,
    /// too slow for one namespace per case).</summary>
    public bool Isolated { get; init; }

    /// <summary>The namespace, unique per test run.</summary>
    public string Namespace { get; set; } = "";

    public override string ToString() => Id;
}
