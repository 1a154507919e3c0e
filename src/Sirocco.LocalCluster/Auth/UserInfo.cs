namespace Sirocco.LocalCluster.Auth;

/// <summary>Who sent a request: a user name and its groups, as the real API server's authenticators give them.</summary>
internal sealed record UserInfo(string Name, IReadOnlyList<string> Groups)
{
    public const string Masters = "system:masters";
    public const string Authenticated = "system:authenticated";

    /// <summary>The holder of the cluster's admin token (the kubeconfig's user): the same name and group as realk8s'.</summary>
    public static readonly UserInfo Admin = new("admin", [Masters, Authenticated]);

    public static UserInfo ServiceAccount(string ns, string name) =>
        new($"system:serviceaccount:{ns}:{name}", ["system:serviceaccounts", $"system:serviceaccounts:{ns}", Authenticated]);

    public bool IsMaster => Groups.Contains(Masters);
}

/// <summary>What a request asks to do, in RBAC's terms.</summary>
internal sealed record RequestAttributes(string Verb, string Group, string Resource, string Subresource, string Namespace, string Name, string Path)
{
    public bool IsResource => Resource.Length > 0;

    /// <summary>The resource as rules and messages name it: <c>pods</c> or <c>pods/log</c>.</summary>
    public string FullResource => Subresource.Length > 0 ? Resource + "/" + Subresource : Resource;

    /// <summary>The attributes of an HTTP request: the verb from the method (and watch, and whether a name is given).</summary>
    public static RequestAttributes Of(string method, string path, bool watch)
    {
        var parts = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        string group;
        string[] rest;
        switch (parts)
        {
            case ["api", "v1", _, ..]:
                group = "";
                rest = parts[2..];
                break;
            case ["apis", var g, "v1", _, ..]:
                group = g;
                rest = parts[3..];
                break;
            default:
                return new(method == "GET" ? "get" : method.ToLowerInvariant(), "", "", "", "", "", "/" + path.Trim('/'));
        }

        var ns = "";
        if (rest is ["namespaces", var n, var r, ..] && r is not ("status" or "finalize"))
        {
            ns = n;
            rest = rest[2..];
        }
        else if (rest is ["namespaces", var only, ..])
        {
            // The namespace object itself: its name is also its namespace, as the real server's attributes say.
            ns = only;
        }

        var resource = rest[0];
        var name = rest.Length > 1 ? rest[1] : "";
        var sub = rest.Length > 2 ? rest[2] : "";
        var verb = (method, name.Length > 0) switch
        {
            ("GET", false) => watch ? "watch" : "list",
            ("GET", true) => sub is "exec" or "attach" ? "create" : watch ? "watch" : "get",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", false) => "deletecollection",
            ("DELETE", true) => "delete",
            _ => method.ToLowerInvariant(),
        };
        return new(verb, group, resource, sub, ns, name, "/" + path.Trim('/'));
    }
}
