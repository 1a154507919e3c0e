using System.Text.Json.Nodes;
using k8s.Models;
using Sirocco.DagFiles.Airflow.Evaluation;
using Sirocco.DagFiles.Airflow.Syntax;
using Sirocco.Kubernetes;

namespace Sirocco.DagFiles.Airflow;

/// <summary>
/// Airflow's <c>airflow_local_settings.py</c> (Sirocco reads it from <c>$SIROCCO_HOME/config/</c>, Airflow's
/// <c>$AIRFLOW_HOME/config/</c>): its <c>pod_mutation_hook(pod)</c> changes every pod before it is created. The file is
/// read by Sirocco's Python reader, as a DAG file is, with no Python process: for each pod the file runs again (bounded
/// like a DAG file) and the hook gets the pod as a <c>V1Pod</c> to change in place.
/// </summary>
public sealed class AirflowLocalSettings : IPodMutationHook
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _text;
    private readonly ModuleNode _module;
    private readonly AirflowDagFileParserOptions _options;
    private readonly IReadOnlyDictionary<string, string> _environment;

    private AirflowLocalSettings(string path, string text, ModuleNode module, AirflowDagFileParserOptions options)
    {
        Source = path;
        _text = text;
        _module = module;
        _options = options;
        _environment = options.Environment ?? new Dictionary<string, string>(StringComparer.Ordinal);
    }

    /// <inheritdoc/>
    public string Source { get; }

    /// <summary>
    /// Reads <paramref name="path"/>; null when the file does not exist or defines no <c>pod_mutation_hook</c>. A file
    /// that does not parse or run is an error naming its line and column, so a broken hook never goes unnoticed.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Clock, environment and Variables, as for DAG files.</param>
    public static AirflowLocalSettings? Load(string path, AirflowDagFileParserOptions? options = null)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var text = File.ReadAllText(path);
        ModuleNode module;
        try
        {
            module = Parser.ParseModule(text);
        }
        catch (DagSyntaxException e)
        {
            throw Located(path, text, e.Offset, e.Message);
        }

        var settings = new AirflowLocalSettings(path, text, module, options ?? new AirflowDagFileParserOptions());
        return settings.Run(out _) is UserFunction ? settings : null;
    }

    /// <inheritdoc/>
    public JsonObject Mutate(JsonObject pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var hook = Run(out var interpreter) as UserFunction ?? throw new SiroccoException($"{Source}: pod_mutation_hook is no longer a function");
        var value = new MutableModel(typeof(V1Pod), pod);
        try
        {
            interpreter.Invoke(hook, new Args([value], []), hook.Definition.Offset);
            var result = value.Flush("pod");
            KubernetesModels.Deserialize(typeof(V1Pod), result, "the pod after pod_mutation_hook"); // what was appended to lists, too
            return result;
        }
        catch (DagEvalException e)
        {
            throw Located(Source, _text, e.Offset, e.Message);
        }
        catch (KeywordException e)
        {
            throw new SiroccoException($"{Source}: {e.Message}");
        }
        catch (TimeoutException)
        {
            throw new SiroccoException($"{Source}: pod_mutation_hook ran longer than {Timeout.TotalSeconds} s");
        }
    }

    private object? Run(out Interpreter interpreter)
    {
        var library = new Library(Source, _options.TimeProvider, _environment, _options.Variables, _options.Secrets);
        interpreter = new Interpreter(_module, library, Timeout, _options.MaxSteps, CancellationToken.None);
        try
        {
            interpreter.Run();
        }
        catch (DagEvalException e)
        {
            throw Located(Source, _text, e.Offset, e.Message);
        }
        catch (KeywordException e)
        {
            throw new SiroccoException($"{Source}: {e.Message}");
        }
        catch (TimeoutException)
        {
            throw new SiroccoException($"{Source} ran longer than {Timeout.TotalSeconds} s");
        }

        return interpreter.Globals.Vars.GetValueOrDefault("pod_mutation_hook");
    }

    private static SiroccoException Located(string path, string text, int? offset, string message)
    {
        if (offset is not { } at)
        {
            return new SiroccoException($"{path}: {message}");
        }

        var (line, column) = AirflowDagFileParser.Position(text, at);
        return new SiroccoException($"{path}:{line}:{column}: {message}");
    }
}
