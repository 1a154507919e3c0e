using System.Text;
using Sirocco.Kubernetes;
using Sirocco.Templating.Expressions;
using NameExpr = Sirocco.DagFiles.Airflow.Syntax.NameExpr;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>
/// KubernetesPodOperator's <c>callbacks=</c>: <c>KubernetesPodOperatorCallback</c> subclasses of the file. Each hook a
/// class defines runs in a pod (<see cref="PythonPodCallback"/>), its text shipped with what it uses from the file;
/// its <c>progress_callback</c>, called per log line, runs on the file's evaluator instead (a pod per line would cost
/// more than the line).
/// </summary>
internal static class PodCallbacks
{
    private static readonly HashSet<string> Hooks = new(PythonPodCallback.Hooks, StringComparer.Ordinal);

    /// <summary>The callbacks of <c>callbacks=</c>: one class or a list (or tuple) of them.</summary>
    public static List<KubernetesPodOperatorCallback> From(Library library, string className, KubernetesPodOperator kpo, object? value)
    {
        List<object?> classes = value switch
        {
            null => [],
            UserClass => [value],
            List<object?> or PyTuple => [.. (IEnumerable<object?>)value],
            _ => throw new KeywordException("callbacks", $"{className}(): callbacks must be a KubernetesPodOperatorCallback subclass defined in the file, or a list of them, not {Interpreter.Describe(value)}"),
        };
        var callbacks = new List<KubernetesPodOperatorCallback>();
        foreach (var item in classes)
        {
            if (item is not UserClass cls || !cls.Derives(library.CallbackBase))
            {
                throw new KeywordException("callbacks", $"{className}(): callbacks: {(item is UserClass c ? $"class {c.Definition.Name}" : Interpreter.Describe(item))} is not a subclass of KubernetesPodOperatorCallback (from airflow.providers.cncf.kubernetes.callbacks)");
            }

            var hooks = cls.MethodNames().Where(Hooks.Contains).ToList();
            var sb = new StringBuilder();
            var name = cls.Definition.Name;
            ShipClass(library, cls, name, name, sb, new HashSet<string>(StringComparer.Ordinal) { name });
            callbacks.Add(new PythonPodCallback(name, sb.ToString(), hooks.Where(h => h is not ("progress_callback" or "on_operator_resuming")))
            {
                Progress = hooks.Contains("progress_callback") ? Progress(library, className, kpo, cls) : null,
            });
        }

        return callbacks;
    }

    /// <summary>
    /// Ships a class of the file: what its text reads from the file (imports, functions, other classes, JSON values;
    /// the provider's base class as Sirocco's stand-in), then the class itself, bound to <paramref name="boundAs"/>.
    /// </summary>
    public static void ShipClass(Library library, UserClass cls, string boundAs, string root, StringBuilder sb, HashSet<string> shipped)
    {
        var def = cls.Definition;
        foreach (var name in def.Names.Distinct(StringComparer.Ordinal))
        {
            if (!TaskFlow.Builtins.Contains(name) && name != def.Name && !def.MethodNames.Contains(name))
            {
                TaskFlow.ShipName(library, cls.Closure, name, root, strict: false, sb, shipped);
            }
        }

        sb.Append(def.Source);
        if (def.Name != boundAs)
        {
            sb.Append(boundAs).Append(" = ").Append(def.Name).Append('\n');
        }
    }

    /// <summary>
    /// The class's <c>progress_callback(*, line, client, mode, container_name, timestamp, **kwargs)</c>, called on the
    /// file's evaluator (client None, mode sync, timestamp when the line was read, as a pendulum-like datetime).
    /// </summary>
    private static Action<string, string, DateTimeOffset> Progress(Library library, string className, KubernetesPodOperator kpo, UserClass cls)
    {
        var hook = $"{cls.Definition.Name}.progress_callback";
        if (!cls.TryGetAttr("progress_callback", out var found) || found is not UserFunction function)
        {
            throw new KeywordException("callbacks", $"{className}(): callbacks: {hook} could not be read; it runs on each log line while the file's reader runs it, so it must be a plain function");
        }

        if (function.Definition.OpaqueReason is { } reason)
        {
            throw new KeywordException("callbacks", $"{className}(): callbacks: {hook} runs on each log line on the file's reader, which cannot run it ({reason})");
        }

        if (function.Definition.Decorators.Any(d => d is NameExpr { Name: "classmethod" }))
        {
            throw new KeywordException("callbacks", $"{className}(): callbacks: {hook} must be a @staticmethod, as in the provider's base class");
        }

        var call = Operators.OnEvaluator(library, kpo, className, hook, function);
        // Only the keywords its signature takes (older providers passed line, client and mode alone).
        var parameters = function.Definition.Parameters;
        bool Takes(string name) => parameters.Any(p => p.Kind == 2 || p.Name == name);
        return (line, container, timestamp) => call(new Args([], [.. new KeywordArg[]
        {
            new("line", line, 0), new("client", null, 0), new("mode", "sync", 0), new("container_name", container, 0),
            new("timestamp", PyDateTime.FromOffset(timestamp, pendulum: true), 0),
        }.Where(k => Takes(k.Name))]));
    }
}
