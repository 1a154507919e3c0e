using System.Text;
using System.Text.Json.Nodes;
using k8s;
using Sirocco.Connections;

namespace Sirocco.Web.Infrastructure;

/// <summary>Airflow's connection test: for a kubernetes connection, reach the cluster and report its version.</summary>
internal static class ConnectionTester
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary><c>[core] test_connection</c>: Disabled (the default, as in Airflow), Enabled or Hidden.</summary>
    public static string Mode(Configuration.SiroccoConfig config) =>
        config.Get("core", "test_connection", "Disabled")!.Trim().ToUpperInvariant() switch
        {
            "ENABLED" => "Enabled",
            "HIDDEN" => "Hidden",
            _ => "Disabled",
        };

    /// <summary>Refuses a test unless <c>[core] test_connection = Enabled</c>: a test reaches out from the server.</summary>
    public static void RequireEnabled(Configuration.SiroccoConfig config)
    {
        if (Mode(config) != "Enabled")
        {
            throw new ApiException(403, "Forbidden", "Testing connections is disabled: it makes the server reach whatever address a connection names. Set [core] test_connection = Enabled to allow it.");
        }
    }

    /// <summary>The connection form's Test button: active, disabled with the reason, or absent.</summary>
    public static string Button(Configuration.SiroccoConfig config) => Mode(config) switch
    {
        "Enabled" => "<button type=\"submit\" formaction=\"/admin/connections/test\" id=\"test-connection\">Test</button>",
        "Hidden" => string.Empty,
        _ => "<button type=\"button\" id=\"test-connection\" disabled title=\"Set [core] test_connection = Enabled to test connections\">Test</button>",
    };

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
