using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sirocco.Kubernetes.Internal;

/// <summary>
/// How a try gets its pod: the one of this try that survived a restart (reattach_on_restart), or a new one, created
/// once (a name conflict with this try's own pod adopts it; a name taken by another pod takes a random one), and
/// recorded as the try's external id with the pod_name and pod_namespace XComs.
/// </summary>
internal sealed class PodCreation(PodTarget pod)
{
    private bool _renamed;
    private JsonObject? _mutatedBody;

    /// <summary>Whether the pod is this try's to clean up (created or adopted by it).</summary>
    public bool Owned { get; set; }

    /// <summary>When the create was sent (<see cref="TimeProvider.GetTimestamp"/>); 0 for a reattached pod.</summary>
    public long Requested { get; private set; }

    /// <summary>
    /// The pod after the process's pod_mutation_hook, if it has one: the hook sees the pod as it would be sent (raw
    /// fields included), and what it returns is sent as it is.
    /// </summary>
    public V1Pod Mutate(V1Pod request)
    {
        if (pod.Context.Services?.GetService(typeof(IPodMutationHook)) is not IPodMutationHook hook)
        {
            return request;
        }

        var body = JsonNode.Parse(KubernetesJson.Serialize(request))!.AsObject();
        RawPodFields.Apply(body, new Dictionary<string, JsonNode?>(pod.Op.RawPodFields, StringComparer.Ordinal));
        JsonObject mutated;
        try
        {
            mutated = hook.Mutate(body);
        }
        catch (SiroccoException e)
        {
            throw new SiroccoException($"pod_mutation_hook of {hook.Source} failed on pod {request.Metadata.NamespaceProperty}/{request.Metadata.Name}: {e.Message}", e);
        }

        _mutatedBody = mutated;
        pod.Log($"Applied pod_mutation_hook of {hook.Source}");
        try
        {
            return KubernetesJson.Deserialize<V1Pod>(mutated.ToJsonString());
        }
        catch (JsonException e)
        {
            throw new SiroccoException($"pod_mutation_hook of {hook.Source} returned a pod that is not a V1Pod: {e.Message}", e);
        }
    }

    /// <summary>
    /// The pod of this try left by an earlier process: the recorded one, or one found by the try's labels on the shared
    /// watch (a crash between the create and its recording); null when there is none to follow.
    /// </summary>
    public async Task<V1Pod?> FindExistingAsync(V1Pod request, CancellationToken token)
    {
        if (pod.Context.ResumedExternalId is { } external && external.Split('/', 2) is [var ns, var name])
        {
            if (ns != pod.Ns)
            {
                pod.Ns = ns;
                pod.UseInformer(ns);
            }

            pod.Subscribe(name);
            var found = await pod.ReadPodAsync(name, token).ConfigureAwait(false);
            if (found is not null && (!IsAlreadyChecked(found) || FinishedBeforeRecording(found)))
            {
                if (IsAlreadyChecked(found))
                {
                    pod.Log($"Pod {external} of this try finished and was checked before the restart, but its result was not recorded: taking its result");
                }

                pod.Watched.Update(found);
                return found;
            }

            pod.Log($"Pod {external} of the earlier attempt is gone or finished; starting a new pod");
            pod.Ns = request.Metadata.NamespaceProperty;
            pod.UseInformer(pod.Ns);
            return null;
        }

        // Fallback for a crash between the create and its recording: the shared watch's cache, searched by the try's labels.
        await pod.Informer.WaitSyncedAsync(token).ConfigureAwait(false);
        var labels = new Dictionary<string, string>(request.Metadata.Labels.Where(kv => IsIdentityLabel(kv.Key)), StringComparer.Ordinal);
        var matching = pod.Informer.Find(labels).Where(p => SameTry(p.Metadata.Labels, labels) && !IsAlreadyChecked(p) && p.Metadata.DeletionTimestamp is null).ToList();
        if (matching.Count > 1)
        {
            throw new SiroccoException(
                $"More than one pod running with labels {string.Join(",", labels.Select(kv => kv.Key + "=" + kv.Value))}: {string.Join(", ", matching.Select(p => p.Metadata.Name))}");
        }

        if (matching.Count == 1)
        {
            pod.Subscribe(matching[0].Metadata.Name);
            await RecordAsync(matching[0].Metadata.Name, token).ConfigureAwait(false);
            return matching[0];
        }

        return null;
    }

    /// <summary>Creates the pod (in turn with the cluster's other creations in flight) and records it.</summary>
    public async Task CreateAsync(V1Pod request, CancellationToken token)
    {
        var slots = pod.Cluster.CreationSlots;
        if (slots is not null && !slots.Wait(0, CancellationToken.None))
        {
            // Waits without a thread; the try's kill and shutdown end the wait. Said when it was long.
            var queued = pod.Time.GetTimestamp();
            await slots.WaitAsync(token).ConfigureAwait(false);
            var waited = pod.Time.GetElapsedTime(queued);
            if (waited >= TimeSpan.FromSeconds(1))
            {
                pod.Log($"Waited {waited.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s for a turn to create the pod: "
                    + $"{pod.Runtime.Options.CreationsInFlight} pod creations were in flight to {pod.Server} ([kubernetes] max_pod_creations_in_flight)");
            }
        }

        V1Pod created;
        try
        {
            created = await CreateOnceAllowedAsync(request, token).ConfigureAwait(false);
        }
        finally
        {
            slots?.Release(); // before the try's own bookkeeping: a slow metadata database must not hold creations back
        }

        Owned = true;
        pod.Watched.Update(created);
        await RecordAsync(pod.Name!, token).ConfigureAwait(false);
    }

    /// <summary>
    /// A pod of this very try (the recorded one) that ran to its end and was checked by a process that died before
    /// recording the try's result. Its result is this try's: running the work again would run it twice. With
    /// do_xcom_push the result file went with the sidecar, so such a pod cannot give the whole result.
    /// </summary>
    private bool FinishedBeforeRecording(V1Pod found) =>
        !pod.Op.DoXcomPush && found.Metadata.DeletionTimestamp is null && PodTarget.IsDone(found, pod.Op.BaseContainerName);

    private static bool IsIdentityLabel(string key) =>
        key is "dag_id" or "task_id" or "run_id" or "try_number" or "map_index" or "kubernetes_pod_operator" or PodBuilder.CallbackLabel;

    private static bool IsAlreadyChecked(V1Pod found) =>
        found.Metadata.Labels is { } l && l.TryGetValue(PodBuilder.AlreadyCheckedLabel, out var v) && v == "True";

    /// <summary>Whether a pod's identity labels are exactly those of the request (a callback's pod is not its task's).</summary>
    private static bool SameTry(IDictionary<string, string>? a, IDictionary<string, string> b) =>
        a is not null
        && b.Where(kv => IsIdentityLabel(kv.Key)).All(kv => a.TryGetValue(kv.Key, out var v) && v == kv.Value)
        && a.Keys.Where(IsIdentityLabel).All(b.ContainsKey);

    private async Task<V1Pod> CreateOnceAllowedAsync(V1Pod request, CancellationToken token)
    {
        pod.Log($"Creating pod {pod.Ns}/{pod.Name}");
        Requested = pod.Time.GetTimestamp();
        try
        {
            while (true)
            {
                var adopted = false;
                var made = await pod.CallAsync(
                    $"create pod {pod.Ns}/{pod.Name}",
                    async t =>
                    {
                        try
                        {
                            using var raw = _mutatedBody is { } body ? RawPodFields.UseBody(body) : RawPodFields.Use(pod.Op.RawPodFields);
                            return await pod.Client.CoreV1.CreateNamespacedPodAsync(request, pod.Ns, cancellationToken: t).ConfigureAwait(false);
                        }
                        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Conflict)
                        {
                            // The name comes from the try's identity: the pod is this try's when an earlier attempt of
                            // this request, or a process that died before recording it, made it.
                            var existing = await pod.Client.CoreV1.ReadNamespacedPodAsync(pod.Name, pod.Ns, cancellationToken: t).ConfigureAwait(false);
                            adopted = SameTry(existing.Metadata.Labels, request.Metadata.Labels) && !IsAlreadyChecked(existing) && existing.Metadata.DeletionTimestamp is null;
                            return adopted ? existing : null;
                        }
                    },
                    token).ConfigureAwait(false);
                if (made is not null)
                {
                    if (adopted)
                    {
                        pod.Log($"Pod {pod.Ns}/{pod.Name} of this try already exists (made by an earlier attempt of this request, or before a restart): following it");
                    }

                    return made;
                }

                if (!pod.Op.RandomNameSuffix || _renamed)
                {
                    throw new SiroccoException($"pod {pod.Ns}/{pod.Name} already exists and belongs to another try (or was already checked)");
                }

                // Taken by a finished or another installation's pod: this try takes a random name instead.
                _renamed = true;
                var taken = pod.Name!;
                pod.Name = request.Metadata.Name = LabelSanitizer.PodName(taken[..taken.LastIndexOf('-')], LabelSanitizer.RandomSuffix());
                pod.Subscribe(pod.Name);
                pod.Log($"Pod name {taken} is taken by a pod that is not this try's running one; creating pod {pod.Ns}/{pod.Name}");
            }
        }
        catch (HttpOperationException e)
        {
            throw new SiroccoException($"could not create pod {pod.Ns}/{pod.Name}: {ApiMessage(e)}", e);
        }
    }

    private async Task RecordAsync(string name, CancellationToken token)
    {
        var recorder = pod.Context.Recorder;
        await recorder.RecordExternalIdAsync($"{pod.Ns}/{name}", token).ConfigureAwait(false);
        await recorder.PushXComAsync("pod_name", JsonSerializer.SerializeToElement(name), token).ConfigureAwait(false);
        await recorder.PushXComAsync("pod_namespace", JsonSerializer.SerializeToElement(pod.Ns), token).ConfigureAwait(false);
    }

    private static string ApiMessage(HttpOperationException e)
    {
        try
        {
            if (e.Response?.Content is { Length: > 0 } content && KubernetesJson.Deserialize<V1Status>(content) is { Message: { } m })
            {
                return $"{(int)e.Response.StatusCode} {m}";
            }
        }
        catch (JsonException)
        {
            // Not a Status body.
        }

        return e.Message;
    }
}
