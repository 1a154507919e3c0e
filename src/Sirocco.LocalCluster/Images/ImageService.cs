using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Sirocco.LocalCluster.Images;

/// <summary>What the kubelet should run a container from.</summary>
/// <param name="Record">The image to run in, or null to run host commands.</param>
/// <param name="RootFs">The image's unpacked root folder.</param>
/// <param name="FailureReason">The container's waiting reason when the image cannot be had (ErrImagePull …).</param>
/// <param name="FailureMessage">What went wrong, for the container's status and the pod's events.</param>
/// <param name="Noted">True when an event already said how the container will run.</param>
/// <param name="Lease">Keeps <paramref name="RootFs"/> from collection while the container runs; the caller disposes it.</param>
internal sealed record ImageOutcome(ImageRecord? Record, string? RootFs, string? FailureReason, string? FailureMessage, bool Noted, IDisposable? Lease = null)
{
    public static readonly ImageOutcome Host = new(null, null, null, null, false);

    public static ImageOutcome Run(ImageRecord record, (string RootFs, IDisposable Lease) acquired) =>
        new(record, acquired.RootFs, null, null, true, acquired.Lease);
}

/// <summary>
/// The kubelet's image manager: applies the pull policy and the cluster's image mode, pulls through
/// <see cref="RegistryClient"/> (one pull per image at a time, however many pods wait for it), and records Pulling,
/// Pulled and Failed events as the kubelet does.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ImageService : IDisposable
{
    private static readonly TimeSpan UnreachableMemory = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan FailureMemory = TimeSpan.FromMinutes(1);

    private readonly ClusterContext _cluster;
    private readonly RegistryClient _registry;
    private readonly ConcurrentDictionary<string, Lazy<Task<(ImageRecord Record, long Downloaded)>>> _pulls = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, string Message)> _failed = new(StringComparer.Ordinal);

    public ImageService(ClusterContext cluster)
    {
        _cluster = cluster;
        var options = cluster.Options;
        Store = new ImageStore(Path.Combine(cluster.StateDirectory, "images"));
        Store.ClearLeases();
        Store.ClearTemporary();
        _registry = new RegistryClient(options.InsecureRegistries, options.RegistryCertificateAuthorityFile, options.RegistryTimeout, options.RegistryTimeout);
    }

    public ImageStore Store { get; }

    /// <summary>
    /// Finds or pulls the container's image and leases its root folder to <paramref name="holder"/>.
    /// <paramref name="record"/> writes an event (type, reason, message).
    /// </summary>
    public async Task<ImageOutcome> EnsureAsync(V1Pod pod, V1Container container, string holder, Action<string, string, string> record, CancellationToken token)
    {
        var mode = _cluster.Options.ImageMode;
        if (mode == LocalClusterImageMode.Host)
        {
            return ImageOutcome.Host;
        }

        var image = container.Image ?? "";
        ImageReference reference;
        try
        {
            reference = ImageReference.Parse(image);
        }
        catch (FormatException e)
        {
            if (mode == LocalClusterImageMode.Auto)
            {
                return ImageOutcome.Host;
            }

            var message = $"Failed to apply default image tag \"{image}\": couldn't parse image name \"{image}\": {e.Message}";
            record("Warning", "InspectFailed", message);
            return new ImageOutcome(null, null, "InvalidImageName", message, true);
        }

        var policy = container.ImagePullPolicy ?? Api.Defaults.ImagePullPolicy(image);
        ImageRecord? present = null;
        try
        {
            present = Store.Find(image);
            if (present is not null && policy != "Always")
            {
                var acquired = await Store.AcquireAsync(present, holder, token).ConfigureAwait(false);
                record("Normal", "Pulled", $"Container image \"{image}\" already present on machine");
                return ImageOutcome.Run(present, acquired);
            }
        }
        catch (Exception e) when (!token.IsCancellationRequested && e is not OperationCanceledException)
        {
            // A damaged copy (a blob removed by hand, a bad record): pull it again.
            _cluster.KubeletLog.LogWarning("The stored image {Image} cannot be used and is pulled again: {Message}", image, e.Message);
            present = null;
        }

        if (policy == "Never")
        {
            if (mode == LocalClusterImageMode.Auto)
            {
                record("Normal", "Pulled", $"Container image \"{image}\" is not in the local cluster's image store and the pull policy is Never: running host commands ([local_cluster] image_mode = auto)");
                return ImageOutcome.Host with { Noted = true };
            }

            var message = $"Container image \"{image}\" is not present with pull policy of Never";
            record("Warning", "ErrImageNeverPull", message);
            return new ImageOutcome(null, null, "ErrImageNeverPull", message, true);
        }

        var now = _cluster.Now;
        if (mode == LocalClusterImageMode.Auto && (Remembered(reference.Registry, now) ?? Remembered(reference.ToString(), now)) is { } known)
        {
            return await FallBackAsync(image, present, holder, known, record, token).ConfigureAwait(false);
        }

        record("Normal", "Pulling", $"Pulling image \"{image}\"");
        var clock = Stopwatch.StartNew();
        try
        {
            var credentials = PullSecrets.For(_cluster.Store, pod, reference);
            var (pulled, _) = await PullAsync(reference, credentials, token).ConfigureAwait(false);
            var acquired = await Store.AcquireAsync(pulled, holder, token).ConfigureAwait(false);
            var seconds = clock.Elapsed.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            record("Normal", "Pulled", $"Successfully pulled image \"{image}\" in {seconds}s ({seconds}s including waiting). Image size: {pulled.Size} bytes.");
            return ImageOutcome.Run(pulled, acquired);
        }
        catch (Exception e) when (!token.IsCancellationRequested && e is not OperationCanceledException)
        {
            var message = e is RegistryException or InvalidDataException or IOException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            if (mode == LocalClusterImageMode.Auto)
            {
                // A registry out of reach is remembered for every image on it, in words that name no image.
                var key = e is RegistryException { Kind: RegistryFailure.Unreachable } ? reference.Registry : reference.ToString();
                var remembered = key == reference.Registry && message.StartsWith($"{reference}: ", StringComparison.Ordinal) ? message[(reference.ToString().Length + 2)..] : message;
                _failed[key] = (now + (key == reference.Registry ? UnreachableMemory : FailureMemory), remembered);
                _cluster.KubeletLog.LogInformation("Image {Image} could not be pulled: {Message}", image, message);
                return await FallBackAsync(image, present, holder, message, record, token).ConfigureAwait(false);
            }

            var failure = $"failed to pull and unpack image \"{reference}\": {message}";
            record("Warning", "Failed", $"Failed to pull image \"{image}\": {failure}");
            record("Warning", "Failed", "Error: ErrImagePull");
            return new ImageOutcome(null, null, "ErrImagePull", failure, true);
        }
    }

    public void Dispose() => _registry.Dispose();

    /// <summary>In auto mode, an image that could not be pulled: the copy on the machine if there is one, else host commands.</summary>
    private async Task<ImageOutcome> FallBackAsync(string image, ImageRecord? present, string holder, string why, Action<string, string, string> record, CancellationToken token)
    {
        if (present is not null)
        {
            try
            {
                var acquired = await Store.AcquireAsync(present, holder, token).ConfigureAwait(false);
                record("Normal", "Pulled", $"Container image \"{image}\" could not be pulled ({why}): using the copy already on the machine ([local_cluster] image_mode = auto)");
                return ImageOutcome.Run(present, acquired);
            }
            catch (Exception e) when (!token.IsCancellationRequested && e is not OperationCanceledException)
            {
                why += "; the copy on the machine cannot be used: " + e.Message;
            }
        }

        record("Normal", "Pulled", $"Container image \"{image}\" could not be pulled ({why}): running host commands instead ([local_cluster] image_mode = auto)");
        return ImageOutcome.Host with { Noted = true };
    }

    private string? Remembered(string key, DateTimeOffset now) =>
        _failed.TryGetValue(key, out var entry) && entry.Until > now ? entry.Message : null;

    private async Task<(ImageRecord Record, long Downloaded)> PullAsync(ImageReference reference, List<RegistryCredential> credentials, CancellationToken token)
    {
        // Without a matching secret, anonymously; with several, each in turn until one is accepted (as the kubelet does).
        var attempts = credentials.Count == 0 ? [null] : credentials.Cast<RegistryCredential?>().ToList();
        RegistryException? refused = null;
        foreach (var credential in attempts)
        {
            var key = credential is null ? $"{reference}|" : $"{reference}|{credential.Username}|{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(credential.Password)))}";
            var pull = _pulls.GetOrAdd(key, _ => new Lazy<Task<(ImageRecord, long)>>(() => PullOnceAsync(key, reference, credential)));
            try
            {
                return await pull.Value.WaitAsync(token).ConfigureAwait(false);
            }
            catch (RegistryException e) when (e.Kind == RegistryFailure.Unauthorized)
            {
                refused = e;
            }
        }

        throw refused!;
    }

    private async Task<(ImageRecord, long)> PullOnceAsync(string key, ImageReference reference, RegistryCredential? credential)
    {
        try
        {
            // Shared by every pod waiting for it: only the cluster's stop cancels it.
            return await _registry.PullAsync(reference, credential, Store, _cluster.Stopping.Token).ConfigureAwait(false);
        }
        finally
        {
            _pulls.TryRemove(key, out _);
        }
    }
}
