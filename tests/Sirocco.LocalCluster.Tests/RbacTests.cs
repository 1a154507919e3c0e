using System.Net;
using System.Net.Http.Headers;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Sirocco.LocalCluster.Tests;

/// <summary>
/// Service-account tokens and RBAC on the local cluster, through kubectl, the official client and a pod's own token:
/// service accounts are denied by default, bindings grant exactly their roles, nobody grants what it does not hold.
/// </summary>
[Collection("cluster")]
public sealed class RbacTests(ClusterFixture fx)
{
    private async Task<string> TokenAsync(string ns, string account = "default")
    {
        var result = await fx.KubectlAsync("create", "token", account, "-n", ns);
        Assert.True(result.Code == 0, result.Err);
        return result.Out.Trim();
    }

    private async Task<(int Code, string Out, string Err)> AsAsync(string token, params string[] args) =>
        await fx.KubectlAsync(["--token", token, .. args]);

    private Kubernetes ClientWith(string token)
    {
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(fx.Cluster.KubeconfigPath);
        config.AccessToken = token;
        config.Username = null;
        config.Password = null;
        return new Kubernetes(config);
    }

    [Fact]
    public async Task A_service_account_is_denied_by_default_and_a_role_binding_grants_exactly_its_role()
    {
        var ns = await fx.NamespaceAsync("rbac-grant");
        var token = await TokenAsync(ns);
        Assert.NotEqual(fx.Cluster.Token, token);

        var denied = await AsAsync(token, "get", "pods", "-n", ns);
        Assert.NotEqual(0, denied.Code);
        Assert.Contains($"pods is forbidden: User \"system:serviceaccount:{ns}:default\" cannot list resource \"pods\" in API group \"\" in the namespace \"{ns}\"", denied.Err, StringComparison.Ordinal);
        Assert.Equal("no", (await AsAsync(token, "auth", "can-i", "list", "pods", "-n", ns)).Out.Trim());
        var secret = await AsAsync(token, "get", "secret", "s", "-n", ns);
        Assert.Contains($"secrets \"s\" is forbidden: User \"system:serviceaccount:{ns}:default\" cannot get resource \"secrets\" in API group \"\" in the namespace \"{ns}\"", secret.Err, StringComparison.Ordinal);
        var cluster = await AsAsync(token, "get", "namespaces");
        Assert.Contains("cannot list resource \"namespaces\" in API group \"\" at the cluster scope", cluster.Err, StringComparison.Ordinal);

        var bound = await fx.KubectlAsync("create", "rolebinding", "viewers", "--clusterrole=view", $"--serviceaccount={ns}:default", "-n", ns);
        Assert.True(bound.Code == 0, bound.Err);

        Assert.Equal("yes", (await AsAsync(token, "auth", "can-i", "list", "pods", "-n", ns)).Out.Trim());
        Assert.Equal("yes", (await AsAsync(token, "auth", "can-i", "get", "pods/log", "-n", ns)).Out.Trim());
        Assert.Equal("no", (await AsAsync(token, "auth", "can-i", "create", "pods", "-n", ns)).Out.Trim());
        Assert.Equal("no", (await AsAsync(token, "auth", "can-i", "get", "secrets", "-n", ns)).Out.Trim());
        Assert.Equal("no", (await AsAsync(token, "auth", "can-i", "list", "pods", "-n", "default")).Out.Trim());
        Assert.Equal("no", (await AsAsync(token, "auth", "can-i", "create", "pods/exec", "-n", ns)).Out.Trim());
        var list = await AsAsync(token, "get", "pods", "-n", ns);
        Assert.True(list.Code == 0, list.Err);
        var rules = await AsAsync(token, "auth", "can-i", "--list", "-n", ns);
        Assert.True(rules.Code == 0, rules.Err);
        Assert.Matches(@"pods\s+\[\]\s+\[\]\s+\[get list watch\]", rules.Out);
        Assert.Contains("selfsubjectaccessreviews.authorization.k8s.io", rules.Out, StringComparison.Ordinal);

        // Admin's view through the official client: the review names the binding that allowed it.
        var review = await fx.Client.AuthorizationV1.CreateSubjectAccessReviewAsync(new V1SubjectAccessReview
        {
            Spec = new V1SubjectAccessReviewSpec
            {
                User = $"system:serviceaccount:{ns}:default",
                Groups = ["system:serviceaccounts", $"system:serviceaccounts:{ns}", "system:authenticated"],
                ResourceAttributes = new V1ResourceAttributes { NamespaceProperty = ns, Verb = "watch", Resource = "pods" },
            },
        });
        Assert.True(review.Status.Allowed);
        Assert.Equal($"RBAC: allowed by RoleBinding \"viewers/{ns}\" of ClusterRole \"view\" to ServiceAccount \"default/{ns}\"", review.Status.Reason);

        // Deleting the binding takes the right away again.
        Assert.Equal(0, (await fx.KubectlAsync("delete", "rolebinding", "viewers", "-n", ns)).Code);
        Assert.Equal("no", (await AsAsync(token, "auth", "can-i", "list", "pods", "-n", ns)).Out.Trim());
    }

    [Fact]
    public async Task Nobody_grants_what_it_does_not_hold()
    {
        var ns = await fx.NamespaceAsync("rbac-escalate");
        Assert.Equal(0, (await fx.KubectlAsync("create", "rolebinding", "admins", "--clusterrole=admin", $"--serviceaccount={ns}:default", "-n", ns)).Code);
        using var client = ClientWith(await TokenAsync(ns));

        // admin holds the namespace's roles and bindings, and can hand on what it holds.
        await client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "secret-reader" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["secrets"], Verbs = ["get", "list"] }],
        }, ns);
        await client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "read-secrets" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "secret-reader" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "other", NamespaceProperty = ns }],
        }, ns);

        // …but not cluster-admin, nor rules it lacks, nor anything at the cluster scope.
        var bind = await Assert.ThrowsAsync<HttpOperationException>(() => client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "root" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "cluster-admin" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "default", NamespaceProperty = ns }],
        }, ns));
        Assert.Equal(HttpStatusCode.Forbidden, bind.Response.StatusCode);
        Assert.Contains("rolebindings.rbac.authorization.k8s.io \\\"root\\\" is forbidden: user \\\"system:serviceaccount:" + ns + ":default\\\"", bind.Response.Content, StringComparison.Ordinal);
        Assert.Contains("is attempting to grant RBAC permissions not currently held:\\n{APIGroups:[\\\"*\\\"], Resources:[\\\"*\\\"], Verbs:[\\\"*\\\"]}", bind.Response.Content, StringComparison.Ordinal);

        var role = await Assert.ThrowsAsync<HttpOperationException>(() => client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "nodes" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["nodes"], Verbs = ["delete"] }],
        }, ns));
        Assert.Equal(HttpStatusCode.Forbidden, role.Response.StatusCode);
        Assert.Contains("{APIGroups:[\\\"\\\"], Resources:[\\\"nodes\\\"], Verbs:[\\\"delete\\\"]}", role.Response.Content, StringComparison.Ordinal);

        var clusterWide = await Assert.ThrowsAsync<HttpOperationException>(() => client.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "escape-" + ns },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "view" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "default", NamespaceProperty = ns }],
        }));
        Assert.Equal(HttpStatusCode.Forbidden, clusterWide.Response.StatusCode);

        // Nor may it relabel its namespace to lift Pod Security (namespaces are not in admin's rules for writing).
        var label = await AsAsync(await TokenAsync(ns), "label", "namespace", ns, "pod-security.kubernetes.io/enforce=privileged");
        Assert.Contains($"namespaces \"{ns}\" is forbidden", label.Err, StringComparison.Ordinal);

        // A binding's role never changes.
        var changed = await fx.KubectlWithInputAsync($$"""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"read-secrets","namespace":"{{ns}}"},
             "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"kind":"ServiceAccount","name":"other","namespace":"{{ns}}"}]}
            """, "replace", "-f", "-");
        Assert.Contains("cannot change roleRef", changed.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pod_gets_its_own_service_account_s_token_which_ends_with_the_pod()
    {
        var ns = await fx.NamespaceAsync("rbac-pod");
        // The pod asks the API server for its namespace's pods with its own token, through the in-cluster environment.
        const string Script = """
            import json, os, ssl, urllib.request, urllib.error
            base = "/var/run/secrets/kubernetes.io/serviceaccount/"
            token = open(base + "token").read()
            ctx = ssl.create_default_context(cafile=base + "ca.crt")
            ns = open(base + "namespace").read()
            url = "https://%s:%s/api/v1/namespaces/%s/pods" % (os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"], ns)
            req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
            try:
                print("status", urllib.request.urlopen(req, context=ctx).status)
            except urllib.error.HTTPError as e:
                print("status", e.code, json.load(e)["message"])
            print("token", token)
            """;
        var pod = ClusterFixture.Pod("asker", "python3", "-c", Script);
        await fx.Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await fx.WaitForPodAsync(ns, "asker", ClusterFixture.Done);
        var log = await fx.LogAsync(ns, "asker");
        Assert.Contains($"status 403 pods is forbidden: User \"system:serviceaccount:{ns}:default\" cannot list resource \"pods\"", log, StringComparison.Ordinal);
        var token = log.Split('\n').Single(l => l.StartsWith("token ", StringComparison.Ordinal))["token ".Length..];
        Assert.NotEqual(fx.Cluster.Token, token);

        // The same token works for what its account is granted, while the pod exists.
        Assert.Equal(0, (await fx.KubectlAsync("create", "rolebinding", "viewers", "--clusterrole=view", $"--serviceaccount={ns}:default", "-n", ns)).Code);
        using var http = fx.Http(withToken: false);
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/pods"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await fx.Client.CoreV1.DeleteNamespacedPodAsync("asker", ns, gracePeriodSeconds: 0);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await fx.Client.CoreV1.ListNamespacedPodAsync(ns)).Items.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/pods"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task Rbac_objects_are_served_as_the_rbac_api_group()
    {
        var resources = await fx.KubectlAsync("api-resources", "--api-group=rbac.authorization.k8s.io");
        Assert.True(resources.Code == 0, resources.Err);
        foreach (var kind in new[] { "clusterrolebindings", "clusterroles", "rolebindings", "roles" })
        {
            Assert.Matches($@"(?m)^{kind}\s+rbac.authorization.k8s.io/v1\s", resources.Out);
        }

        var roles = await fx.Client.RbacAuthorizationV1.ListClusterRoleAsync();
        Assert.Superset(new HashSet<string> { "cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery" }, roles.Items.Select(r => r.Metadata.Name).ToHashSet());
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => fx.Client.RbacAuthorizationV1.ReadNamespacedRoleAsync("nope", "default"));
        Assert.Equal(HttpStatusCode.NotFound, missing.Response.StatusCode);
        Assert.Contains("roles.rbac.authorization.k8s.io \\\"nope\\\" not found", missing.Response.Content, StringComparison.Ordinal);

        var invalid = await Assert.ThrowsAsync<HttpOperationException>(() => fx.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "empty" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["pods"], Verbs = [] }],
        }, "default"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid.Response.StatusCode);
        Assert.Contains("rules[0].verbs: Required value: verbs must contain at least one value", invalid.Response.Content, StringComparison.Ordinal);

        // A watch of roles, as an informer would hold one.
        var ns = await fx.NamespaceAsync("rbac-watch");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await fx.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role { Metadata = new V1ObjectMeta { Name = "watched" }, Rules = [] }, ns);
        await foreach (var (type, role) in fx.Client.RbacAuthorizationV1.WatchListNamespacedRoleAsync(ns, cancellationToken: cts.Token))
        {
            Assert.Equal("Added watched rbac.authorization.k8s.io/v1", $"{type} {role.Metadata.Name} {role.ApiVersion}");
            break;
        }
    }
}
