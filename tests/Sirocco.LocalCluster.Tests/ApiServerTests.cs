using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sirocco.LocalCluster.Tests;

[Collection("cluster")]
public sealed class ApiServerTests(ClusterFixture fx)
{
    private readonly Kubernetes _client = fx.Client;

    private static async Task<JsonObject> StatusOf(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    [Fact]
    public async Task Request_without_token_gets_401_status()
    {
        using var http = fx.Http(withToken: false);
        using var response = await http.GetAsync("/api/v1/namespaces");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var status = await StatusOf(response);
        Assert.Equal("Unauthorized", (string?)status["reason"]);
        Assert.Equal(401, (int?)status["code"]);
    }

    [Fact]
    public async Task Wrong_token_gets_401()
    {
        using var http = fx.Http(withToken: false);
        http.DefaultRequestHeaders.Authorization = new("Bearer", "not-the-token");
        using var response = await http.GetAsync("/version");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Discovery_lists_core_resources_and_subresources()
    {
        var version = await _client.Version.GetCodeAsync();
        Assert.Equal("1", version.Major);
        var resources = await _client.CoreV1.GetAPIResourcesAsync();
        var names = resources.Resources.Select(r => r.Name).ToList();
        foreach (var expected in new[] { "namespaces", "pods", "pods/log", "pods/exec", "pods/status", "secrets", "configmaps", "serviceaccounts", "events", "nodes" })
        {
            Assert.Contains(expected, names);
        }

        using var http = fx.Http();
        var api = JsonNode.Parse(await http.GetStringAsync("/api"))!;
        Assert.Equal("v1", (string?)api["versions"]![0]);
    }

    [Fact]
    public async Task Default_namespace_service_account_and_node_exist()
    {
        var ns = await _client.CoreV1.ReadNamespaceAsync("default");
        Assert.Equal("Active", ns.Status.Phase);
        var sa = await _client.CoreV1.ReadNamespacedServiceAccountAsync("default", "default");
        Assert.Equal("default", sa.Metadata.Name);
        var nodes = await _client.CoreV1.ListNodeAsync();
        var node = Assert.Single(nodes.Items);
        Assert.Equal(Environment.ProcessorCount, node.Status.Capacity["cpu"].ToInt32());
        Assert.True(node.Status.Allocatable["memory"].ToInt64() > 100_000_000);
        Assert.Contains(node.Status.Conditions, c => c.Type == "Ready" && c.Status == "True");
    }

    [Fact]
    public async Task New_namespace_gets_a_default_service_account()
    {
        var ns = await fx.NamespaceAsync("sa");
        var sa = await _client.CoreV1.ReadNamespacedServiceAccountAsync("default", ns);
        Assert.Equal(ns, sa.Metadata.NamespaceProperty);
        Assert.Equal(ns, (await _client.CoreV1.ReadNamespaceAsync(ns)).Metadata.Labels["kubernetes.io/metadata.name"]);
    }

    [Fact]
    public async Task Creating_in_a_missing_namespace_is_404()
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() =>
            _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "x" } }, "no-such-namespace"));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
        Assert.Equal("namespaces \"no-such-namespace\" not found", (string?)JsonNode.Parse(e.Response.Content)!["message"]);
    }

    [Fact]
    public async Task Pod_gets_the_real_api_server_defaults()
    {
        var ns = await fx.NamespaceAsync("defaults");
        var pod = new V1Pod
        {
            Metadata = new() { Name = "d" },
            Spec = new()
            {
                NodeSelector = new Dictionary<string, string> { ["never"] = "matches" },
                Containers =
                [
                    new() { Name = "a", Image = "busybox", Command = ["true"] },
                    new() { Name = "b", Image = "busybox:1.36", Command = ["true"], Resources = new() { Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m") } } },
                ],
            },
        };
        var created = await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        Assert.Equal("Always", created.Spec.RestartPolicy);
        Assert.Equal("ClusterFirst", created.Spec.DnsPolicy);
        Assert.Equal("default-scheduler", created.Spec.SchedulerName);
        Assert.Equal("default", created.Spec.ServiceAccountName);
        Assert.Equal(30, created.Spec.TerminationGracePeriodSeconds);
        Assert.True(created.Spec.EnableServiceLinks);
        Assert.Equal(0, created.Spec.Priority);
        Assert.NotNull(created.Spec.SecurityContext);
        Assert.Equal(2, created.Spec.Tolerations.Count);
        Assert.Equal("/dev/termination-log", created.Spec.Containers[0].TerminationMessagePath);
        Assert.Equal("File", created.Spec.Containers[0].TerminationMessagePolicy);
        Assert.Equal("Always", created.Spec.Containers[0].ImagePullPolicy);
        Assert.Equal("IfNotPresent", created.Spec.Containers[1].ImagePullPolicy);
        Assert.Equal("500m", created.Spec.Containers[1].Resources.Requests["cpu"].ToString());
        Assert.Equal("Pending", created.Status.Phase);
        Assert.Equal("Burstable", created.Status.QosClass);
        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));
        Assert.False(string.IsNullOrEmpty(created.Metadata.ResourceVersion));
    }

    [Fact]
    public async Task Invalid_name_is_422_with_a_field_cause()
    {
        using var http = fx.Http();
        using var response = await http.PostAsync("/api/v1/namespaces/default/configmaps",
            new StringContent("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var status = await StatusOf(response);
        Assert.Equal("Invalid", (string?)status["reason"]);
        var cause = status["details"]!["causes"]![0]!;
        Assert.Equal("metadata.name", (string?)cause["field"]);
        Assert.Equal("FieldValueInvalid", (string?)cause["reason"]);
        Assert.Contains("RFC 1123 subdomain", (string?)cause["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_long_namespace_name_and_bad_label_are_invalid()
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() =>
            _client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = new string('a', 64) } }));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        Assert.Contains("must be no more than 63 characters", e.Response.Content, StringComparison.Ordinal);

        var bad = await Assert.ThrowsAsync<HttpOperationException>(() =>
            _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "ok", Labels = new Dictionary<string, string> { ["bad key!"] = "v" } } }, "default"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Response.StatusCode);
        Assert.Contains("metadata.labels", bad.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Duplicate_containers_and_unknown_mounts_are_422()
    {
        var pod = new V1Pod
        {
            Metadata = new() { Name = "dup" },
            Spec = new()
            {
                Volumes = [new() { Name = "v", EmptyDir = new() }, new() { Name = "v", EmptyDir = new() }],
                Containers =
                [
                    new() { Name = "c", Image = "busybox", VolumeMounts = [new() { Name = "missing", MountPath = "/m" }] },
                    new() { Name = "c", Image = "busybox" },
                ],
            },
        };
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.CreateNamespacedPodAsync(pod, "default"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.Response.StatusCode);
        var causes = JsonNode.Parse(e.Response.Content)!["details"]!["causes"]!.AsArray();
        Assert.Contains(causes, c => (string?)c!["field"] == "spec.containers[1].name" && (string?)c["reason"] == "FieldValueDuplicate");
        Assert.Contains(causes, c => (string?)c!["field"] == "spec.volumes[1].name" && (string?)c["reason"] == "FieldValueDuplicate");
        Assert.Contains(causes, c => (string?)c!["field"] == "spec.containers[0].volumeMounts[0].name" && (string?)c["reason"] == "FieldValueNotFound");
    }

    [Theory]
    [InlineData("10XYZ", HttpStatusCode.BadRequest)]
    [InlineData("1000m", HttpStatusCode.Created)]
    [InlineData("10G", HttpStatusCode.Created)]
    [InlineData("10Gi", HttpStatusCode.Created)]
    [InlineData("0.5", HttpStatusCode.Created)]
    public async Task Quantities_are_checked(string quantity, HttpStatusCode expected)
    {
        using var http = fx.Http();
        var name = "q-" + Guid.NewGuid().ToString("n")[..8];
        var body = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"NAME"},"spec":{"nodeSelector":{"no":"where"},"containers":[{"name":"c","image":"busybox","resources":{"limits":{"memory":"QUANTITY"}}}]}}"""
            .Replace("NAME", name, StringComparison.Ordinal).Replace("QUANTITY", quantity, StringComparison.Ordinal);
        using var response = await http.PostAsync("/api/v1/namespaces/default/pods?dryRun=All", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.BadRequest)
        {
            Assert.Contains("quantities must match the regular expression", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Malformed_json_is_400_and_the_server_keeps_serving()
    {
        using var http = fx.Http();
        using var response = await http.PostAsync("/api/v1/namespaces/default/pods", new StringContent("{\"metadata\": {", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("BadRequest", (string?)(await StatusOf(response))["reason"]);
        using var wrongType = await http.PostAsync("/api/v1/namespaces/default/pods", new StringContent("""{"metadata":{"name":5}}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        using var notJson = await http.PostAsync("/api/v1/namespaces/default/secrets", new StringContent("[1,2]", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.NotNull(await _client.CoreV1.ReadNamespaceAsync("default"));
    }

    [Theory]
    [InlineData("""{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}],"affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"topologyKey":"zone","labelSelector":{"matchExpressions":[{"key":"tier","operator":"In","values":"gold"}]}}]}}}}""",
        "json: cannot unmarshal string into Go struct field LabelSelectorRequirement.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.labelSelector.matchExpressions.values of type []string")]
    [InlineData("""{"metadata":{"name":5}}""", "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string")]
    [InlineData("""{"metadata":{"name":"p","labels":["a"]}}""", "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string")]
    [InlineData("""{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":"80"}]}]}}""", "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32")]
    public async Task A_value_of_the_wrong_type_is_400_in_the_go_decoders_words(string body, string message)
    {
        using var http = fx.Http();
        using var response = await http.PostAsync("/api/v1/namespaces/default/pods", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Pod in version \"v1\" cannot be handled as a Pod: " + message, (string?)(await StatusOf(response))["message"]);
    }

    [Fact]
    public async Task Unknown_fields_fail_with_strict_validation_and_warn_otherwise()
    {
        using var http = fx.Http();
        var body = """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict-x","bogus":1},"data":{"a":"b"},"extra":true}""";
        using var strict = await http.PostAsync("/api/v1/namespaces/default/configmaps?fieldValidation=Strict", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, strict.StatusCode);
        var message = (string?)(await StatusOf(strict))["message"];
        Assert.Contains("unknown field \"metadata.bogus\"", message, StringComparison.Ordinal);
        Assert.Contains("unknown field \"extra\"", message, StringComparison.Ordinal);

        using var warn = await http.PostAsync("/api/v1/namespaces/default/configmaps", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, warn.StatusCode);
        Assert.Contains(warn.Headers.GetValues("Warning"), w => w.Contains("unknown field", StringComparison.Ordinal));
        Assert.Null((await StatusOf(warn))["extra"]);
    }

    [Fact]
    public async Task Stale_update_is_409_conflict_and_duplicate_create_is_409_already_exists()
    {
        var ns = await fx.NamespaceAsync("conflict");
        var cm = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "c" }, Data = new Dictionary<string, string> { ["k"] = "1" } }, ns);
        cm.Data["k"] = "2";
        var updated = await _client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "c", ns);
        Assert.NotEqual(cm.Metadata.ResourceVersion, updated.Metadata.ResourceVersion);
        cm.Data["k"] = "3";
        var stale = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "c", ns));
        Assert.Equal(HttpStatusCode.Conflict, stale.Response.StatusCode);
        Assert.Equal("Conflict", (string?)JsonNode.Parse(stale.Response.Content)!["reason"]);

        var again = await Assert.ThrowsAsync<HttpOperationException>(() =>
            _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "c" } }, ns));
        Assert.Equal(HttpStatusCode.Conflict, again.Response.StatusCode);
        Assert.Equal("AlreadyExists", (string?)JsonNode.Parse(again.Response.Content)!["reason"]);
    }

    [Fact]
    public async Task Merge_strategic_and_json_patches_apply()
    {
        var ns = await fx.NamespaceAsync("patch");
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new() { Name = "p", Labels = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } },
            Data = new Dictionary<string, string> { ["x"] = "1" },
        }, ns);
        var merged = await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"labels":{"a":null,"c":"3"}},"data":{"y":"2"}}""", V1Patch.PatchType.MergePatch), "p", ns);
        Assert.Equal(new Dictionary<string, string> { ["b"] = "2", ["c"] = "3" }, merged.Metadata.Labels);
        Assert.Equal(2, merged.Data.Count);

        var strategic = await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"annotations":{"note":"n"}}}""", V1Patch.PatchType.StrategicMergePatch), "p", ns);
        Assert.Equal("n", strategic.Metadata.Annotations["note"]);
        Assert.Equal(2, strategic.Metadata.Labels.Count);

        var json = await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""[{"op":"replace","path":"/data/x","value":"9"},{"op":"remove","path":"/data/y"}]""", V1Patch.PatchType.JsonPatch), "p", ns);
        Assert.Equal(new Dictionary<string, string> { ["x"] = "9" }, json.Data);

        var stale = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("""{"metadata":{"resourceVersion":"1"},"data":{"x":"0"}}""", V1Patch.PatchType.MergePatch), "p", ns));
        Assert.Equal(HttpStatusCode.Conflict, stale.Response.StatusCode);
    }

    [Fact]
    public async Task Strategic_merge_merges_pod_containers_by_name()
    {
        var ns = await fx.NamespaceAsync("smp");
        var pod = ClusterFixture.Pod("smp", "sleep", "30");
        pod.Spec.NodeSelector = new Dictionary<string, string> { ["unmatched"] = "x" };
        pod.Spec.Containers.Add(new V1Container { Name = "side", Image = "busybox:1", Command = ["true"] });
        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var patched = await _client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"spec":{"containers":[{"name":"side","image":"busybox:2"}]}}""", V1Patch.PatchType.StrategicMergePatch), "smp", ns);
        Assert.Equal(2, patched.Spec.Containers.Count);
        Assert.Equal("busybox:2", patched.Spec.Containers.Single(c => c.Name == "side").Image);
        Assert.Equal("busybox:1.36", patched.Spec.Containers.Single(c => c.Name == "main").Image);

        var forbidden = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.PatchNamespacedPodAsync(
            new V1Patch("""{"spec":{"containers":[{"name":"side","command":["false"]}]}}""", V1Patch.PatchType.StrategicMergePatch), "smp", ns));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, forbidden.Response.StatusCode);
        Assert.Contains("pod updates may not change fields", forbidden.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Label_and_field_selectors_filter_lists()
    {
        var ns = await fx.NamespaceAsync("select");
        foreach (var (name, tier) in new[] { ("a", "web"), ("b", "db"), ("c", "cache") })
        {
            await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new() { Name = name, Labels = new Dictionary<string, string> { ["tier"] = tier } }, StringData = new Dictionary<string, string> { ["k"] = name } }, ns);
        }

        static List<string> Names(V1SecretList l) => l.Items.Select(s => s.Metadata.Name).ToList();
        Assert.Equal(["a"], Names(await _client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: "tier=web")));
        Assert.Equal(["b", "c"], Names(await _client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: "tier!=web")));
        Assert.Equal(["a", "c"], Names(await _client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: "tier in (web, cache)")));
        Assert.Equal(["b"], Names(await _client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: "tier notin (web,cache),tier")));
        Assert.Empty(Names(await _client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: "!tier")));
        Assert.Equal(["c"], Names(await _client.CoreV1.ListNamespacedSecretAsync(ns, fieldSelector: "metadata.name=c")));
        Assert.Equal(["a", "b", "c"], Names(await _client.CoreV1.ListNamespacedSecretAsync(ns, fieldSelector: "type=Opaque")));
        var all = await _client.CoreV1.ListSecretForAllNamespacesAsync(fieldSelector: $"metadata.namespace={ns}");
        Assert.Equal(3, all.Items.Count);
        var bad = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.ListNamespacedSecretAsync(ns, fieldSelector: "spec.nope=1"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.Response.StatusCode);
        Assert.Equal("k", Encoding.UTF8.GetString((await _client.CoreV1.ReadNamespacedSecretAsync("a", ns)).Data["k"]) is var v && v == "a" ? "k" : v);
    }

    [Fact]
    public async Task List_pages_with_limit_and_continue()
    {
        var ns = await fx.NamespaceAsync("page");
        for (var i = 0; i < 5; i++)
        {
            await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = $"cm{i}" } }, ns);
        }

        var first = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2, labelSelector: null);
        Assert.Equal(2, first.Items.Count);
        Assert.False(string.IsNullOrEmpty(first.Metadata.ContinueProperty));
        var rest = await _client.CoreV1.ListNamespacedConfigMapAsync(ns, continueParameter: first.Metadata.ContinueProperty);
        Assert.Equal(4, rest.Items.Count); // three more plus kube-root-ca.crt
        Assert.DoesNotContain(rest.Items, i => first.Items.Any(f => f.Metadata.Name == i.Metadata.Name));
    }

    [Fact]
    public async Task Watch_resumed_from_a_resource_version_misses_no_event()
    {
        var ns = await fx.NamespaceAsync("watch");
        var cm = await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "w" }, Data = new Dictionary<string, string> { ["n"] = "0" } }, ns);
        var from = cm.Metadata.ResourceVersion;
        for (var i = 1; i <= 3; i++)
        {
            cm = await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch($$$"""{"data":{"n":"{{{i}}}"}}""", V1Patch.PatchType.MergePatch), "w", ns);
        }

        await _client.CoreV1.DeleteNamespacedConfigMapAsync("w", ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<string>();
        await foreach (var (type, obj) in _client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: from, fieldSelector: "metadata.name=w", cancellationToken: cts.Token))
        {
            seen.Add($"{type}:{obj.Data?["n"]}");
            if (type == WatchEventType.Deleted)
            {
                break;
            }
        }

        Assert.Equal(["Modified:1", "Modified:2", "Modified:3", "Deleted:3"], seen);
    }

    [Fact]
    public async Task Watch_sends_bookmarks_when_asked()
    {
        var ns = await fx.NamespaceAsync("bookmark");
        var list = await _client.CoreV1.ListNamespacedConfigMapAsync(ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var (type, obj) in _client.CoreV1.WatchListNamespacedConfigMapAsync(ns, allowWatchBookmarks: true, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            if (type == WatchEventType.Bookmark)
            {
                Assert.True(long.Parse(obj.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) >= long.Parse(list.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));
                return;
            }
        }

        Assert.Fail("no bookmark arrived");
    }

    [Fact]
    public async Task Deleting_a_namespace_deletes_its_contents()
    {
        var ns = await fx.NamespaceAsync("gone");
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new() { Name = "s" } }, ns);
        var sleeper = ClusterFixture.Pod("sleeper", "sleep", "60");
        sleeper.Spec.TerminationGracePeriodSeconds = 1;
        var pod = await _client.CoreV1.CreateNamespacedPodAsync(sleeper, ns);
        await fx.WaitForPodAsync(ns, "sleeper", p => p.Status?.Phase == "Running");
        var list = await _client.CoreV1.ListNamespaceAsync(fieldSelector: $"metadata.name={ns}");
        await _client.CoreV1.DeleteNamespaceAsync(ns, gracePeriodSeconds: 0);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var (type, _) in _client.CoreV1.WatchListNamespaceAsync(fieldSelector: $"metadata.name={ns}", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            if (type == WatchEventType.Deleted)
            {
                break;
            }
        }

        Assert.Empty((await _client.CoreV1.ListSecretForAllNamespacesAsync(fieldSelector: $"metadata.namespace={ns}")).Items);
        Assert.Empty((await _client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: $"metadata.namespace={ns}")).Items);
        Assert.NotNull(pod);
    }

    [Fact]
    public async Task Delete_of_missing_object_is_404_and_secret_delete_returns_success_status()
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.DeleteNamespacedSecretAsync("nope", "default"));
        Assert.Equal(HttpStatusCode.NotFound, e.Response.StatusCode);
        Assert.Contains("\"message\":\"secrets \\\"nope\\\" not found\"", e.Response.Content, StringComparison.Ordinal);
        using var http = fx.Http();
        using var badGrace = await http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/v1/namespaces/default/secrets/nope")
        {
            Content = new StringContent("""{"gracePeriodSeconds":"soon"}""", Encoding.UTF8, "application/json"),
        });
        Assert.Equal(HttpStatusCode.BadRequest, badGrace.StatusCode);
        await _client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new() { Name = "del-me" } }, "default");
        var status = await _client.CoreV1.DeleteNamespacedSecretAsync("del-me", "default", propagationPolicy: "Background");
        Assert.Equal("Success", status.Status);
        var bad = await Assert.ThrowsAsync<HttpOperationException>(() => _client.CoreV1.DeleteNamespacedSecretAsync("x", "default", propagationPolicy: "Sideways"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Response.StatusCode);
    }

    [Fact]
    public async Task Unknown_paths_and_methods_get_status_errors()
    {
        using var http = fx.Http();
        using var unknown = await http.GetAsync("/api/v1/widgets");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("NotFound", (string?)(await StatusOf(unknown))["reason"]);
        using var method = await http.PutAsync("/api/v1/namespaces/default/pods", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, method.StatusCode);
        using var badRv = await http.GetAsync("/api/v1/namespaces/default/pods?watch=true&resourceVersion=abc");
        // v1.20 answers a resourceVersion that is not a number with 500 (checked by the fidelity corpus).
        Assert.Equal(HttpStatusCode.InternalServerError, badRv.StatusCode);
        using var badSelector = await http.GetAsync("/api/v1/pods?labelSelector=a%20in%20b");
        Assert.Equal(HttpStatusCode.BadRequest, badSelector.StatusCode);
    }

    [Fact]
    public async Task Deletecollection_removes_only_the_selected_pods()
    {
        var ns = await fx.NamespaceAsync("delcoll");
        foreach (var (name, tier) in new[] { ("a", "batch"), ("b", "batch"), ("c", "web") })
        {
            var pod = ClusterFixture.Pod(name, "true");
            pod.Metadata.Labels = new Dictionary<string, string> { ["tier"] = tier };
            pod.Spec.NodeSelector = new Dictionary<string, string> { ["held"] = "pending" };
            await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        }

        var deleted = await _client.CoreV1.DeleteCollectionNamespacedPodAsync(ns, labelSelector: "tier=batch");
        Assert.Equal("PodList", deleted.Kind);
        var left = await _client.CoreV1.ListNamespacedPodAsync(ns);
        Assert.Equal(["c"], left.Items.Select(p => p.Metadata.Name).ToList());
    }

    [Fact]
    public async Task Status_subresource_changes_only_the_status()
    {
        var ns = await fx.NamespaceAsync("status");
        var pod = ClusterFixture.Pod("s", "true");
        pod.Spec.SchedulerName = "someone-else"; // nothing else writes this pod's status

        await _client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var patch = new V1Patch("""{"status":{"conditions":[{"type":"example.com/Checked","status":"True"}]},"spec":{"activeDeadlineSeconds":5}}""", V1Patch.PatchType.MergePatch);
        var patched = await _client.CoreV1.PatchNamespacedPodStatusAsync(patch, "s", ns);
        Assert.Contains(patched.Status.Conditions, c => c.Type == "example.com/Checked" && c.Status == "True");
        Assert.Null(patched.Spec.ActiveDeadlineSeconds);
        var read = await _client.CoreV1.ReadNamespacedPodStatusAsync("s", ns);
        Assert.Contains(read.Status.Conditions, c => c.Type == "example.com/Checked");

        // A write to the main resource keeps the status as it is.
        var labelled = await _client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"metadata":{"labels":{"x":"y"}},"status":{"phase":"Succeeded"}}""", V1Patch.PatchType.MergePatch), "s", ns);
        Assert.Equal("y", labelled.Metadata.Labels["x"]);
        Assert.Equal("Pending", labelled.Status.Phase);
    }

    [Fact]
    public async Task Kubectl_style_table_requests_get_server_side_tables()
    {
        using var http = fx.Http();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/namespaces");
        request.Headers.TryAddWithoutValidation("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
        using var response = await http.SendAsync(request);
        var table = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("Table", (string?)table["kind"]);
        Assert.Equal("Name", (string?)table["columnDefinitions"]![0]!["name"]);
        Assert.Contains(table["rows"]!.AsArray(), r => (string?)r!["cells"]![0] == "default" && (string?)r["cells"]![1] == "Active");
    }

    [Fact]
    public async Task Watch_with_a_selector_sees_objects_enter_and_leave_it()
    {
        var ns = await fx.NamespaceAsync("selw");
        var list = await _client.CoreV1.ListNamespacedConfigMapAsync(ns);
        await _client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "m", Labels = new Dictionary<string, string> { ["stage"] = "draft" } } }, ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"labels":{"stage":"live"}}}""", V1Patch.PatchType.MergePatch), "m", ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"k":"v"}}""", V1Patch.PatchType.MergePatch), "m", ns);
        await _client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"labels":{"stage":"retired"}}}""", V1Patch.PatchType.MergePatch), "m", ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<string>();
        await foreach (var (type, cm) in _client.CoreV1.WatchListNamespacedConfigMapAsync(ns, labelSelector: "stage=live", resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cts.Token))
        {
            seen.Add($"{type}:{cm.Metadata.Labels["stage"]}");
            if (type == WatchEventType.Deleted)
            {
                break;
            }
        }

        // Leaving the selection is reported with the object as the watcher last saw it, as the real server does.
        Assert.Equal(["Added:live", "Modified:live", "Deleted:live"], seen);
    }
}
