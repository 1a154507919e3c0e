using System.Collections;
using System.Text.Json;
using Sirocco.Scheduler;

namespace Sirocco.Web.Infrastructure;

/// <summary>A task's template fields for display: rendered for the run when a renderer is given, else as written.</summary>
internal static class TemplateView
{
    public static (IReadOnlyList<KeyValuePair<string, string>>? Fields, string? Error) Render(WebState state, DagRun run, TaskInstance ti)
    {
        var dag = state.Dag(ti.DagId);
        if (dag is null || !dag.HasTask(ti.TaskId))
        {
            return (null, null);
        }

        var task = dag.GetTask(ti.TaskId);
        if (task.TemplateFields.Count == 0)
        {
            return ([], null);
        }

        if (state.Options.Renderer is { } renderer)
        {
            try
            {
                var copy = task.CloneForTry();
                if (task.IsMapped && ti.MapIndex >= 0)
                {
                    copy.ApplyMappedArguments(MapExpansion.ArgumentsAsync(state.Store, dag, ti, task, CancellationToken.None).GetAwaiter().GetResult());
                }

                var rendered = renderer.Render(copy, new RenderRequest(dag, run, ti, state.Services, state.Store, state.Time));
                return ([.. rendered.Fields.Select(f => new KeyValuePair<string, string>(f.Key, state.Masker.Redact(f.Value)))], null);
            }
#pragma warning disable CA1031 // a template that fails to render is shown as its error, as Airflow's Rendered tab does
            catch (Exception e)
#pragma warning restore CA1031
            {
                return (Raw(state, task), state.Masker.Redact(e.Message));
            }
        }

        return (Raw(state, task), null);
    }

    private static List<KeyValuePair<string, string>> Raw(WebState state, BaseOperator task)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var name in task.TemplateFields)
        {
            var prop = task.GetType().GetProperty(name) ?? task.GetType().GetProperties().FirstOrDefault(p => string.Equals(
                p.Name, name.Replace("_", string.Empty, StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase));
            var value = prop?.GetValue(task);
            var text = value switch
            {
                null => string.Empty,
                string s => s,
                IEnumerable e => JsonSerializer.Serialize(e),
                _ => value.ToString() ?? string.Empty,
            };
            result.Add(new(name, state.Masker.Redact(text)));
        }

        return result;
    }
}
