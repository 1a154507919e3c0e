using System.Text;
using System.Text.Json.Nodes;
using k8s;
using Sirocco.Connections;

namespace Sirocco.Web.Infrastructure;

/// <summary>Airflow's connection test: for a kubernetes connection, reach the cluster and report its version.</summary>
internal static class ConnectionTester
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static async Task<(bool Ok, string Message)> TestAsync(Connection connection, CancellationToken ct)
    {
        if (!string.Equals(connection.ConnType, "kubernetes", StringComparison.OrdinalIgnoreCase))
        {
            return (false, $"Testing connections of type '{connection.ConnType}' is not supported; only kubernetes connections can be tested");
        }

        JsonObject extras;
        try
        {
            extras = connection.ExtraDejson();
        }
        catch (SiroccoException e)
        {
            return (false, e.Message);
        }

        string? Extra(string name) => (extras[name] ?? extras["extra__kubernetes__" + name])?.ToString();
        static bool Truthy(string? v) => v is not null && (v.Equals("true", StringComparison.OrdinalIgnoreCase) || v == "1");
        try
        {
            KubernetesClientConfiguration config;
            var context = string.IsNullOrEmpty(Extra("cluster_context")) ? null : Extra("cluster_context");
            if (Truthy(Extra("in_cluster")))
            {
                config = KubernetesClientConfiguration.InClusterConfig();
            }
            else if (Extra("kube_config") is { Length: > 0 } inline)
            {
                using var stream = new MemoryStream(Encoding.UTF8.GetBytes(inline));
                config = await KubernetesClientConfiguration.BuildConfigFromConfigFileAsync(stream, context).ConfigureAwait(false);
            }
            else
            {
                var path = Extra("kube_config_path") is { Length: > 0 } p ? p : KubernetesClientConfiguration.KubeConfigDefaultLocation;
                if (!File.Exists(path))
                {
                    return (false, $"kube_config_path '{path}' does not exist");
                }

                config = KubernetesClientConfiguration.BuildConfigFromConfigFile(path, context);
            }

            if (Truthy(Extra("disable_verify_ssl")))
            {
                config.SkipTlsVerify = true;
            }

            using var client = new Kubernetes(config);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(Timeout);
            var version = await client.Version.GetCodeAsync(cts.Token).ConfigureAwait(false);
            return (true, $"Connection successfully tested: Kubernetes {version.GitVersion} at {config.Host}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (false, $"The cluster did not answer within {Timeout.TotalSeconds:0} s");
        }
#pragma warning disable CA1031 // any failure to reach the cluster is the test's answer, not a server error
        catch (Exception e)
#pragma warning restore CA1031
        {
            return (false, e.GetBaseException().Message);
        }
    }
}
