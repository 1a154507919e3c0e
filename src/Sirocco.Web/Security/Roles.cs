namespace Sirocco.Web.Security;

/// <summary>Airflow's roles, each with everything of the one before: Viewer reads, User also triggers, clears and
/// pauses, Op also manages Variables, Connections and configuration, Admin also manages users.</summary>
internal enum Role
{
    None = 0,
    Viewer = 1,
    User = 2,
    Op = 3,
    Admin = 4,
}

/// <summary>A signed-in user.</summary>
internal sealed record Principal(string Username, Role Role)
{
    public bool Can(Role needed) => Role >= needed;
}

internal static class Roles
{
    public static readonly string[] Names = ["Viewer", "User", "Op", "Admin"];

    public static Role Parse(string? name) => name?.ToUpperInvariant() switch
    {
        "VIEWER" => Role.Viewer,
        "USER" => Role.User,
        "OP" => Role.Op,
        "ADMIN" => Role.Admin,
        _ => Role.None,
    };

    /// <summary>The canonical spelling of a role name, or null when it is not one.</summary>
    public static string? Normalize(string? name) => Parse(name) is var r and not Role.None ? r.ToString() : null;
}
