namespace Sirocco.Kubernetes;

/// <summary>What happens to the pod once its try has finished and its logs and XCom are collected.</summary>
public enum OnFinishAction
{
    /// <summary>Delete the pod whatever the outcome (<c>delete_pod</c>, the default).</summary>
    DeletePod,

    /// <summary>Keep the pod (<c>keep_pod</c>); it is marked <c>already_checked</c> so no later try attaches to it.</summary>
    KeepPod,

    /// <summary>Delete the pod only when the try succeeded or was skipped (<c>delete_succeeded_pod</c>).</summary>
    DeleteSucceededPod,

    /// <summary>Delete the pod only while it is still active, i.e. when the try was killed (<c>delete_active_pod</c>).</summary>
    DeleteActivePod,
}

/// <summary>The provider's snake_case names of <see cref="OnFinishAction"/>.</summary>
public static class OnFinishActionNames
{
    /// <summary>Parses <c>delete_pod</c>, <c>keep_pod</c>, <c>delete_succeeded_pod</c> or <c>delete_active_pod</c>.</summary>
    /// <exception cref="SiroccoException">Any other value; the message lists the valid ones.</exception>
    public static OnFinishAction Parse(string value) => value switch
    {
        "delete_pod" => OnFinishAction.DeletePod,
        "keep_pod" => OnFinishAction.KeepPod,
        "delete_succeeded_pod" => OnFinishAction.DeleteSucceededPod,
        "delete_active_pod" => OnFinishAction.DeleteActivePod,
        _ => throw new SiroccoException(
            $"invalid on_finish_action '{value}': expected delete_pod, keep_pod, delete_succeeded_pod or delete_active_pod"),
    };

    /// <summary>The snake_case name.</summary>
    public static string ToName(this OnFinishAction action) => action switch
    {
        OnFinishAction.KeepPod => "keep_pod",
        OnFinishAction.DeleteSucceededPod => "delete_succeeded_pod",
        OnFinishAction.DeleteActivePod => "delete_active_pod",
        _ => "delete_pod",
    };
}
