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
                json[field.Json] = ToJson(k.Value, field.Type, $"{type.Name}.{k.Name}");
            }
            catch (DagEvalException e)
            {
                throw new KeywordException(k.Name, e.Message);
            }
        }

        return new ModelValue(type, json, Deserialize(type, json, type.Name));
    }

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
    public static JsonNode? ToJson(object? value, Type type, string where)
    {
        Nesting.Check(value);
        var target = Nullable.GetUnderlyingType(type) ?? type;
        switch (value)
        {
            case null:
                return null;
            case ModelValue m:
                if (IsModel(target) && !target.IsAssignableFrom(m.Type))
                {
                    throw new DagEvalException($"{where} must be a {target.Name}, not a {m.Type.Name}");
                }

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
                    array.Add(ToJson(x, item, where));
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

    private static Type ListElementType(Type t)
    {
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
            return Deserialize(type, m.Json, where);
        }

        if (value is PyDict)
        {
            return Deserialize(type, ToJson(value, type, where)!, where);
        }

        throw new DagEvalException($"{where} must be a {type.Name} (or a dict of its Kubernetes JSON), not {Interpreter.Describe(value)}");
    }
}

/// <summary>A Kubernetes model object of the file: its JSON, and the client model it deserializes to.</summary>
internal sealed class ModelValue(Type type, JsonObject json, object model) : IPyObject
{
    public Type Type { get; } = type;

    public JsonObject Json { get; } = json;

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
