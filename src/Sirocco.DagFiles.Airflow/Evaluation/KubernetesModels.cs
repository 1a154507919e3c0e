using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Sirocco.Templating.Expressions;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>
/// The <c>kubernetes.client.models</c> classes: <c>V1Xxx(snake_case=...)</c> builds the Kubernetes JSON object (field
/// names camelCase), checked field by field against the KubernetesClient model type, then deserialized into it.
/// </summary>
internal static class KubernetesModels
{
    private static readonly Dictionary<string, Type> Types = typeof(V1Pod).Assembly.GetTypes()
        .Where(t => t.Namespace == "k8s.Models" && t.IsClass && t.IsPublic && !t.IsAbstract && (t.Name.StartsWith("V1", StringComparison.Ordinal) || t.Name.StartsWith("V2", StringComparison.Ordinal)))
        .ToDictionary(t => t.Name, StringComparer.Ordinal);

    private static readonly ConcurrentDictionary<Type, Dictionary<string, (string Json, Type Type)>> Fields = new();
    private static readonly ConcurrentDictionary<Type, Func<string, object>> Deserializers = new();

    private static readonly MethodInfo DeserializeString = typeof(KubernetesJson).GetMethods(BindingFlags.Public | BindingFlags.Static)
        .First(m => m.Name == "Deserialize" && m.IsGenericMethodDefinition && m.GetParameters()[0].ParameterType == typeof(string));

    private static readonly Lazy<Dictionary<string, object?>> ClassTable = new(() =>
        Types.ToDictionary(kv => kv.Key, kv => (object?)new NativeFunction(kv.Key, a => Construct(kv.Value, a)), StringComparer.Ordinal));

    /// <summary>Every model class by its Python name.</summary>
    public static Dictionary<string, object?> Classes() => ClassTable.Value;

    public static bool IsModel(Type t) => t.Namespace == "k8s.Models" && t.IsClass && Types.ContainsKey(t.Name);

    /// <summary>The JSON fields of a model type by their Python (snake_case) name and by their JSON name.</summary>
    public static Dictionary<string, (string Json, Type Type)> FieldsOf(Type type) => Fields.GetOrAdd(type, static t =>
    {
        var map = new Dictionary<string, (string, Type)>(StringComparer.Ordinal);
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetCustomAttribute<JsonPropertyNameAttribute>() is { } attr)
            {
                map[Snake(attr.Name)] = (attr.Name, p.PropertyType);
            }
        }

        return map;
    });

    public static string Snake(string camel)
    {
        var sb = new System.Text.StringBuilder(camel.Length + 4);
        for (var i = 0; i < camel.Length; i++)
        {
            var c = camel[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(camel[i - 1]) || (i + 1 < camel.Length && char.IsLower(camel[i + 1]) && char.IsUpper(camel[i - 1]))))
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c == '$' ? '_' : c);
            }
        }

        return sb.ToString();
    }

    private static object? Construct(Type type, Args a)
    {
        var fields = FieldsOf(type);
        var keywords = a.Keywords;
        if (a.Positional.Count > 0)
        {
            // The Python client's constructors take their fields in alphabetical order of the snake_case names.
            var order = fields.Keys.Order(StringComparer.Ordinal).ToList();
            if (a.Positional.Count > order.Count)
            {
                throw new DagEvalException($"{type.Name}() takes at most {order.Count} positional arguments ({a.Positional.Count} given)");
            }

            keywords = [.. a.Positional.Select((v, i) => new KeywordArg(order[i], v, 0))];
            foreach (var k in a.Keywords)
            {
                if (keywords.Exists(p => p.Name == k.Name.TrimStart('_')))
                {
                    throw new KeywordException(k.Name, $"{type.Name}() got multiple values for argument '{k.Name}'");
                }

                keywords.Add(k);
            }
        }

        var json = new JsonObject();
        var problems = new List<ModelProblem>();
        foreach (var k in keywords)
        {
            var name = k.Name.TrimStart('_');
            if (!fields.TryGetValue(name, out var field))
            {
                throw new KeywordException(k.Name, $"{type.Name}() got an unexpected keyword argument '{k.Name}'");
            }

            if (k.Value is null)
            {
                continue;
            }

            try
            {
                json[field.Json] = ToJson(k.Value, field.Type, $"{type.Name}.{k.Name}", new Lenient(problems, "/" + field.Json, k.Offset));
            }
            catch (DagEvalException e)
            {
                throw new KeywordException(k.Name, e.Message);
            }
        }

        var clean = json;
        if (problems.Count > 0)
        {
            clean = (JsonObject)json.DeepClone();
            foreach (var p in problems.Where(p => p.Drop))
            {
                Remove(clean, p.Pointer);
            }
        }

        return new ModelValue(type, json, clean, Deserialize(type, clean, type.Name), problems);
    }

    /// <summary>Removes the node at a JSON pointer (made of object keys and list indexes), if there.</summary>
    private static void Remove(JsonNode root, string pointer)
    {
        var parts = pointer.TrimStart('/').Split('/');
        var node = root;
        for (var i = 0; i < parts.Length - 1 && node is not null; i++)
        {
            node = node is JsonArray a ? (int.TryParse(parts[i], out var n) && n < a.Count ? a[n] : null) : node[parts[i]];
        }

        switch (node)
        {
            case JsonObject o:
                o.Remove(parts[^1]);
                break;
            case JsonArray a when int.TryParse(parts[^1], out var n) && n < a.Count:
                a[n] = null;
                break;
        }
    }

    /// <summary>The problems a value carries (a model's, or those of the models of a list, under their index).</summary>
    public static IEnumerable<ModelProblem> Problems(object? value) => value switch
    {
        ModelValue m => m.Problems,
        List<object?> or PyTuple => ((IEnumerable<object?>)value).SelectMany((v, i) => Problems(v).Select(p => p.Under($"/{i}"))),
        _ => [],
    };

    public static object Deserialize(Type type, JsonNode json, string where)
    {
        var f = Deserializers.GetOrAdd(type, static t =>
        {
            var m = DeserializeString.MakeGenericMethod(t);
            var extra = m.GetParameters().Length;
            return text => m.Invoke(null, extra == 1 ? [text] : [text, null])!;
        });
        try
        {
            return f(json.ToJsonString());
        }
        catch (TargetInvocationException e) when (e.InnerException is System.Text.Json.JsonException or FormatException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            throw new DagEvalException($"{where}: not a valid {type.Name}: {e.InnerException.Message}");
        }
    }

    /// <summary>A value of the file as the JSON of a field of type <paramref name="type"/>, checking model field names.</summary>
    /// <param name="value">The value.</param>
    /// <param name="type">The field's type.</param>
    /// <param name="where">The field, for messages.</param>
    /// <param name="lenient">
    /// Inside a model's constructor: a value Python's client would send though its type is wrong (a str for a list, a
    /// model of another type) is kept as it is and recorded here instead of failing the file.
    /// </param>
    public static JsonNode? ToJson(object? value, Type type, string where, Lenient? lenient = null)
    {
        Nesting.Check(value);
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (lenient is not null && value is not (null or List<object?> or PyTuple) && target != typeof(string) && ListElementType(target) is var wanted && wanted != typeof(object))
        {
            var sent = ToJson(value, typeof(object), where, lenient);
            lenient.Add(sent, $"{where} must be a list of {Describe(wanted)}, not {Interpreter.Describe(value)}", drop: true);
            return sent;
        }

        switch (value)
        {
            case null:
                return null;
            case ModelValue m:
                if (IsModel(target) && !target.IsAssignableFrom(m.Type))
                {
                    if (lenient is null)
                    {
                        throw new DagEvalException($"{where} must be a {target.Name}, not a {m.Type.Name}");
                    }

                    lenient.Add(m.Json, $"{where} must be a {target.Name}, not a {m.Type.Name} (the API server reads only the fields of {target.Name} in it)", drop: false);
                }

                lenient?.AddAll(m.Problems);
                return m.Json.DeepClone();
            case PyDict d:
                if (IsModel(target))
                {
                    var fields = FieldsOf(target);
                    var byJson = fields.Values.ToDictionary(f => f.Json, f => f.Type, StringComparer.Ordinal);
                    var obj = new JsonObject();
                    foreach (var (k, v) in d)
                    {
                        if (k is not string key)
                        {
                            throw new DagEvalException($"{where}: keys must be str");
                        }

                        if (!byJson.TryGetValue(key, out var ft))
                        {
                            var hint = fields.TryGetValue(key, out var f) ? $" (write the Kubernetes JSON name '{f.Json}' in a dict)" : string.Empty;
                            throw new DagEvalException($"{where}: {target.Name} has no field '{key}'{hint}");
                        }

                        obj[key] = ToJson(v, ft, $"{where}.{key}");
                    }

                    return obj;
                }

                var element = DictionaryValueType(target);
                var plain = new JsonObject();
                foreach (var (k, v) in d)
                {
                    plain[PyOps.Str(PyEqualityComparer.Unkey(k))] = ToJson(v, element, where);
                }

                return plain;
            case List<object?> or PyTuple:
                var item = ListElementType(target);
                var array = new JsonArray();
                foreach (var x in (IEnumerable<object?>)value)
                {
                    array.Add(ToJson(x, item, where, lenient?.At(array.Count)));
                }

                return array;
            case string s:
                return JsonValue.Create(s);
            case bool b:
                return JsonValue.Create(b);
            case long l:
                return target == typeof(string) || target == typeof(ResourceQuantity) ? JsonValue.Create(l.ToString(System.Globalization.CultureInfo.InvariantCulture)) : JsonValue.Create(l);
            case double dbl:
                return JsonValue.Create(dbl);
            case PyDateTime dt:
                return JsonValue.Create(dt.ToOffset());
            default:
                throw new DagEvalException($"{where}: a {Interpreter.Describe(value)} cannot be part of a Kubernetes object");
        }
    }

    private static string Describe(Type t) => t == typeof(string) ? "str" : t.Name;

    internal static Type ListElementType(Type t)
    {
        if (t == typeof(string))
        {
            return typeof(object);
        }

        if (t.IsArray)
        {
            return t.GetElementType()!;
        }

        var list = t.IsGenericType && t.GetGenericTypeDefinition() is var g && (g == typeof(IList<>) || g == typeof(List<>) || g == typeof(IEnumerable<>) || g == typeof(IReadOnlyList<>))
            ? t : t.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IList<>));
        return list?.GetGenericArguments()[0] ?? typeof(object);
    }

    private static Type DictionaryValueType(Type t)
    {
        var dict = t.IsGenericType && t.GetGenericTypeDefinition() is var g && (g == typeof(IDictionary<,>) || g == typeof(Dictionary<,>))
            ? t : t.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        return dict?.GetGenericArguments()[1] ?? typeof(object);
    }

    /// <summary>A value as a model of type <typeparamref name="T"/> (a model of the file, or a dict of its JSON).</summary>
    public static T As<T>(object? value, string where)
        where T : class => (T)As(value, typeof(T), where);

    public static object As(object? value, Type type, string where)
    {
        if (value is ModelValue m && type.IsAssignableFrom(m.Type))
        {
            return Deserialize(type, m.Clean, where);
        }

        if (value is PyDict)
        {
            return Deserialize(type, ToJson(value, type, where)!, where);
        }

        throw new DagEvalException($"{where} must be a {type.Name} (or a dict of its Kubernetes JSON), not {Interpreter.Describe(value)}");
    }
}

/// <summary>A Kubernetes model object of the file: its JSON, and the client model it deserializes to.</summary>
internal sealed class ModelValue(Type type, JsonObject json, JsonObject clean, object model, IReadOnlyList<ModelProblem> problems) : IPyObject
{
    public Type Type { get; } = type;

    /// <summary>The JSON Python's client would send, wrong values included.</summary>
    public JsonObject Json { get; } = json;

    /// <summary>The JSON without the values the typed model cannot hold.</summary>
    public JsonObject Clean { get; } = clean;

    /// <summary>Values of the wrong type inside, by JSON pointer from this object.</summary>
    public IReadOnlyList<ModelProblem> Problems { get; } = problems;

    public object Model { get; } = model;

    public string TypeName => Type.Name;

    public bool TryGetAttr(string name, out object? value)
    {
        value = null;
        if (!KubernetesModels.FieldsOf(Type).TryGetValue(name.TrimStart('_'), out var field))
        {
            return false;
        }

        if (Json[field.Json] is { } node)
        {
            value = PyOps.FromJson(System.Text.Json.JsonSerializer.SerializeToElement(node));
        }

        return true;
    }

    public override string ToString() => $"{Type.Name}({Json.ToJsonString()})";
}

/// <summary>A value of the wrong type inside a model object, as Python's client would send it.</summary>
/// <param name="Pointer">Where, as a JSON pointer from the model object.</param>
/// <param name="Sent">The JSON sent there.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Offset">Where the file gave it.</param>
/// <param name="Drop">Whether the typed model leaves it out (true), or holds what of it the model knows (false).</param>
internal sealed record ModelProblem(string Pointer, JsonNode? Sent, string Message, int Offset, bool Drop)
{
    public ModelProblem Under(string prefix) => this with { Pointer = prefix + Pointer };
}

/// <summary>Where <see cref="KubernetesModels.ToJson"/> records the problems it lets through, and at which pointer it is.</summary>
internal sealed class Lenient(List<ModelProblem> sink, string pointer, int offset)
{
    public Lenient At(int index) => new(sink, $"{pointer}/{index}", offset);

    public void Add(JsonNode? sent, string message, bool drop) => sink.Add(new ModelProblem(pointer, sent?.DeepClone(), message, offset, drop));

    public void AddAll(IEnumerable<ModelProblem> inner) => sink.AddRange(inner.Select(p => p.Under(pointer)));
}
