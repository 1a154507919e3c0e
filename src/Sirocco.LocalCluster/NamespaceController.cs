using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Api;
using Sirocco.LocalCluster.Store;

namespace Sirocco.LocalCluster;

/// <summary>
/// What the real namespace and service-account controllers do: a new namespace gets its <c>default</c>
/// service account and <c>kube-root-ca.crt</c> config map; a terminating one is emptied, then removed.
/// </summary>
internal sealed class NamespaceController
{
    private static readonly string[] Contents = ["secrets", "configmaps", "serviceaccounts", "events"];

    private readonly ClusterContext _cluster;

    public NamespaceController(ClusterContext cluster) => _cluster = cluster;

    /// <summary>Creates the namespace when missing (used at bootstrap).</summary>
    public void Ensure(string name)
    {
        if (_cluster.Store.Get("namespaces", "", name) is null)
        {
            var ns = new JsonObject
            {
                ["kind"] = "Namespace",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["uid"] = Guid.NewGuid().ToString(),
                    ["creationTimestamp"] = Time.Seconds(_cluster.Now),
                },
            };
            Defaults.Apply("namespaces", ns);
            try
            {
                _cluster.Store.Create("namespaces", ns);
            }
            catch (ApiException e) when (e.Code == 409)
            {
                // Created meanwhile.
            }
        }

        Populate(name);
    }

    /// <summary>Adds the default service account and the root CA config map to a namespace.</summary>
    public void Populate(string ns)
    {
        TryCreate("serviceaccounts", new JsonObject
        {
            ["kind"] = "ServiceAccount",
            ["apiVersion"] = "v1",
            ["metadata"] = Metadata("default", ns),
        });
        TryCreate("configmaps", new JsonObject
        {
            ["kind"] = "ConfigMap",
            ["apiVersion"] = "v1",
            ["metadata"] = Metadata("kube-root-ca.crt", ns),
            ["data"] = new JsonObject { ["ca.crt"] = _cluster.CaPem },
        });
    }

    /// <summary>Empties a terminating namespace in the background, then removes it.</summary>
    public void Terminate(string ns) => _ = Task.Run(() => TerminateAsync(ns));

    private async Task TerminateAsync(string ns)
    {
        var store = _cluster.Store;
        using var podWatch = store.Watch("pods", store.ResourceVersion);

        // Like the real namespace controller, empty the namespace a moment later, in the background: a client that
        // deletes a namespace and then its objects (`kubectl delete -f` of one file) finds them still there.
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(2), _cluster.Options.TimeProvider, _cluster.Stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        foreach (var resource in Contents)
        {
            foreach (var o in store.List(resource, ns).Items)
            {
                TryDelete(resource, ns, o.Name);
            }
        }

        foreach (var pod in store.List("pods", ns).Items)
        {
            DeletePod(pod);
        }

        while (store.List("pods", ns).Items.Count > 0)
        {
            try
            {
                if (!await podWatch.Events.WaitToReadAsync(_cluster.Stopping.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            while (podWatch.Events.TryRead(out _))
            {
            }
        }

        foreach (var resource in Contents)
        {
            foreach (var o in store.List(resource, ns).Items)
            {
                TryDelete(resource, ns, o.Name);
            }
        }

        TryDelete("namespaces", "", ns);
    }

    private void DeletePod(StoredObject pod)
    {
        var phase = pod.Fields.GetValueOrDefault("status.phase");
        if (string.IsNullOrEmpty(pod.Fields.GetValueOrDefault("spec.nodeName")) || phase is "Succeeded" or "Failed")
        {
            TryDelete("pods", pod.Namespace, pod.Name);
            return;
        }

        var now = _cluster.Now;
        _cluster.Store.TryUpdate("pods", pod.Namespace, pod.Name, p =>
        {
            var meta = Meta.Of(p);
            if (meta["deletionTimestamp"] is not null)
            {
                return null;
            }

            var grace = (long?)p["spec"]?["terminationGracePeriodSeconds"] ?? 30;
            meta["deletionTimestamp"] = Time.Seconds(now.AddSeconds(grace));
            meta["deletionGracePeriodSeconds"] = grace;
            return p;
        });
    }

    private void TryCreate(string resource, JsonObject obj)
    {
        try
        {
            _cluster.Store.Create(resource, obj);
        }
        catch (ApiException e) when (e.Code == 409)
        {
            // Already there.
        }
    }

    private void TryDelete(string resource, string ns, string name)
    {
        try
        {
            _cluster.Store.Delete(resource, ns, name);
        }
        catch (ApiException e) when (e.Code == 404)
        {
            // Already gone.
        }
    }

    private JsonObject Metadata(string name, string ns) => new()
    {
        ["name"] = name,
        ["namespace"] = ns,
        ["uid"] = Guid.NewGuid().ToString(),
        ["creationTimestamp"] = Time.Seconds(_cluster.Now),
    };
}
