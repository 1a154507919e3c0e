using System.Text.Json.Nodes;
using Sirocco.Templating.Expressions;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>
/// A Kubernetes model object a function may change in place, as <c>pod_mutation_hook(pod)</c> changes its pod:
/// <c>pod.metadata.labels["team"] = "x"</c>, <c>pod.spec.containers[0].image = ...</c>,
/// <c>pod.spec.tolerations.append(k8s.V1Toleration(...))</c>. Fields are read from the JSON on first use and kept as
/// the file's values (models as <see cref="MutableModel"/>, dicts and lists as Python's), so changes to them stay;
/// <see cref="Flush"/> writes them back as Kubernetes JSON, checking each value against its field's type.
/// </summary>
internal sealed class MutableModel(Type type, JsonObject json) : IPyObject
{
    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);

    public string TypeName => type.Name;

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        if (!KubernetesModels.FieldsOf(type).TryGetValue(name.TrimStart('_'), out var field))
        {
            return false;
        }

        if (!_values.TryGetValue(field.Json, out value))
        {
            value = Wrap(json[field.Json], field.Type);
            _values[field.Json] = value;
        }

        return true;
    }

    /// <summary><c>model.name = value</c>.</summary>
    public void Set(string name, object? value, int offset)
    {
        if (!KubernetesModels.FieldsOf(type).TryGetValue(name.TrimStart('_'), out var field))
        {
            throw new DagEvalException($"'{type.Name}' object has no attribute '{name}'", offset);
        }

        // Checked now, where the file sets it: a value the field cannot hold is an error at this line.
        var where = $"{type.Name}.{field.Json}";
        try
        {
            if (Unwrap(value, field.Type, where) is { } sent)
            {
                KubernetesModels.Deserialize(field.Type, sent, where);
            }
        }
        catch (DagEvalException e)
        {
            e.Offset ??= offset;
            throw;
        }

        _values[field.Json] = value;
    }

    /// <summary>The object's JSON with every field read or set written back.</summary>
    public JsonObject Flush(string where)
    {
        var fields = KubernetesModels.FieldsOf(type).Values.ToDictionary(f => f.Json, f => f.Type, StringComparer.Ordinal);
        foreach (var (name, value) in _values)
        {
            json[name] = Unwrap(value, fields[name], $"{where}.{KubernetesModels.Snake(name)}");
        }

        return json;
    }

    private static object? Wrap(JsonNode? node, Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return node switch
        {
            null => null,
            JsonObject o when KubernetesModels.IsModel(target) => new MutableModel(target, o),
            JsonArray a when KubernetesModels.ListElementType(target) is var item && KubernetesModels.IsModel(item) =>
                a.Select(e => e is JsonObject o ? new MutableModel(item, o) : Wrap(e, typeof(object))).ToList(),
            _ => PyOps.FromJson(System.Text.Json.JsonSerializer.SerializeToElement(node)),
        };
    }

    private static JsonNode? Unwrap(object? value, Type type, string where)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        switch (value)
        {
            case MutableModel m:
                if (KubernetesModels.IsModel(target) && !target.IsAssignableFrom(m.Type))
                {
                    throw new DagEvalException($"{where} must be a {target.Name}, not a {m.Type.Name}");
                }

                return m.Flush(where).DeepClone();
            case List<object?> list when KubernetesModels.ListElementType(target) is var item && item != typeof(object):
                var array = new JsonArray();
                for (var i = 0; i < list.Count; i++)
                {
                    array.Add(Unwrap(list[i], item, $"{where}[{i}]"));
                }

                return array;
            default:
                return KubernetesModels.ToJson(value, type, where);
        }
    }

    private Type Type => type;
}
