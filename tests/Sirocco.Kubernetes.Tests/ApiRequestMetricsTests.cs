using Sirocco.Kubernetes.Internal;

namespace Sirocco.Kubernetes.Tests;

/// <summary>Requests are counted under the API server's own verbs and resources.</summary>
public sealed class ApiRequestMetricsTests
{
    [Theory]
    [InlineData("POST", "/api/v1/namespaces/ns/pods", "POST", "pods")]
    [InlineData("GET", "/api/v1/namespaces/ns/pods/p", "GET", "pods")]
    [InlineData("GET", "/api/v1/namespaces/ns/pods?labelSelector=a%3Db", "LIST", "pods")]
    [InlineData("GET", "/api/v1/namespaces/ns/pods?watch=true&resourceVersion=5", "WATCH", "pods")]
    [InlineData("GET", "/api/v1/namespaces/ns/events?watch=1", "WATCH", "events")]
    [InlineData("GET", "/api/v1/namespaces/ns/pods/p/log?follow=true", "GET", "pods/log")]
    [InlineData("GET", "/api/v1/namespaces/ns/pods/p/exec?command=ls", "CONNECT", "pods/exec")]
    [InlineData("DELETE", "/api/v1/namespaces/ns/pods/p", "DELETE", "pods")]
    [InlineData("DELETE", "/api/v1/namespaces/ns/pods", "DELETECOLLECTION", "pods")]
    [InlineData("PATCH", "/api/v1/namespaces/ns/pods/p", "PATCH", "pods")]
    [InlineData("GET", "/api/v1/namespaces/ns", "GET", "namespaces")]
    [InlineData("GET", "/api/v1/nodes", "LIST", "nodes")]
    [InlineData("GET", "/apis/batch/v1/namespaces/ns/jobs/j", "GET", "jobs")]
    [InlineData("GET", "/version", "GET", "version")]
    public void Verb_and_resource_as_the_api_server_names_them(string method, string path, string verb, string resource)
    {
        Assert.Equal((verb, resource), KubernetesMetrics.Describe(method, new Uri("https://10.0.0.1:6443" + path)));
    }
}
