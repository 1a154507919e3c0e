using Sirocco.Configuration;
using Sirocco.Connections;
using Sirocco.Templating.Expressions;
using Sirocco.Variables;

namespace Sirocco.Templating.Airflow;

/// <summary>An object with a fixed set of attributes; unknown names are Jinja2's "has no attribute".</summary>
internal class AttributeObject : IPyObject
{
    private readonly Dictionary<string, object?> _attributes;
    private readonly string _display;

    public AttributeObject(string typeName, string display, Dictionary<string, object?> attributes)
    {
        TypeName = typeName;
        _display = display;
        _attributes = attributes;
    }

    public string TypeName { get; }

    public bool TryGetAttr(string name, out object? value) => _attributes.TryGetValue(name, out value);

    public override string ToString() => _display;
}

/// <summary>Turns a Core error into an evaluation error that keeps it as the cause.</summary>
internal static class Guard
{
    public static T Run<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (SiroccoException e)
        {
            throw new PyException(e.Message, e);
        }
    }

    /// <summary>The service, or a clear error when the host did not hand it to the context.</summary>
    public static T Require<T>(T? service, string what)
        where T : class => service ?? throw new PyException($"{what} is not available in this context");
}

/// <summary><c>var</c>: <c>var.value.KEY</c> and <c>var.json.KEY</c>.</summary>
internal sealed class VarObject(VariableAccessor? variables) : IPyObject
{
    public string TypeName => "VariableAccessor";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "value" => new VariableView(variables, json: false),
            "json" => new VariableView(variables, json: true),
            _ => null,
        };
        return value is not null;
    }
}

/// <summary><c>var.value</c> or <c>var.json</c>: each attribute is a Variable; <c>get(key, default)</c> has a fallback.</summary>
internal sealed class VariableView(VariableAccessor? variables, bool json) : IPyObject
{
    public string TypeName => json ? "VariableAccessor" : "VariableAccessor";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name == "get"
            ? new PyFunction("get", a =>
            {
                var key = PyOps.Str(a.Required(0, "item", "get"));
                var accessor = Guard.Require(variables, "var");
                if (!Guard.Run(() => accessor.TryGet(key, out _)))
                {
                    return a.Has(1, "default_var") ? a.Get(1, "default_var") : throw new PyException(new VariableNotFoundException(key).Message, new VariableNotFoundException(key));
                }

                return Read(key);
            })
            : Read(name);
        return true;
    }

    private object? Read(string key)
    {
        var accessor = Guard.Require(variables, "var");
        return json ? PyOps.FromJson(Guard.Run(() => accessor.GetJson(key))) : Guard.Run(() => accessor.Get(key));
    }
}

/// <summary><c>conn</c>: each attribute is a Connection.</summary>
internal sealed class ConnObject(ConnectionAccessor? connections) : IPyObject
{
    public string TypeName => "ConnectionAccessor";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name == "get"
            ? new PyFunction("get", a =>
            {
                var id = PyOps.Str(a.Required(0, "key", "get"));
                var accessor = Guard.Require(connections, "conn");
                return Guard.Run(() => accessor.TryGet(id, out var c) ? Wrap(c) : a.Get(1, "default_conn"));
            })
            : Wrap(Guard.Run(() => (Guard.Require(connections, "conn"))!.Get(name)));
        return true;
    }

    private static AttributeObject Wrap(Connection c) => new("Connection", c.ConnId, new(StringComparer.Ordinal)
    {
        ["conn_id"] = c.ConnId,
        ["conn_type"] = c.ConnType,
        ["description"] = c.Description,
        ["host"] = c.Host,
        ["login"] = c.Login,
        ["password"] = c.Password,
        ["schema"] = c.Schema,
        ["port"] = c.Port is { } p ? (long)p : null,
        ["extra"] = c.Extra,
        ["extra_dejson"] = Guard.Run(() => PyOps.FromDotNet(c.ExtraDejson())),
        ["get_uri"] = new PyFunction("get_uri", _ => c.ToUri()),
    });
}

/// <summary><c>conf</c>: <c>get(section, key, fallback=...)</c> and friends over Sirocco's configuration.</summary>
internal sealed class ConfObject(SiroccoConfig? config) : IPyObject
{
    public string TypeName => "AirflowConfigParser";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "get" => new PyFunction(name, a => Get(a, name)),
            "getint" => new PyFunction(name, a => Get(a, name) is string s && long.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var l) ? l : throw new PyException($"The value of {Key(a)} is not an integer")),
            "getboolean" => new PyFunction(name, a => Get(a, name) is string s ? s.Trim().ToLowerInvariant() is "true" or "t" or "1" or "yes" or "on" : PyOps.Truthy(a.Get(2, "fallback"))),
            "has_option" => new PyFunction(name, a => Config().TryGet(PyOps.Str(a.Required(0, "section", name)), PyOps.Str(a.Required(1, "key", name)), out _)),
            _ => null,
        };
        return value is not null;
    }

    private SiroccoConfig Config() => Guard.Require(config, "conf");

    private static string Key(CallArgs a) => $"[{PyOps.Str(a.Get(0, "section"))}/{PyOps.Str(a.Get(1, "key"))}]";

    private object? Get(CallArgs a, string function)
    {
        var section = PyOps.Str(a.Required(0, "section", function));
        var key = PyOps.Str(a.Required(1, "key", function));
        if (Config().TryGet(section, key, out var v))
        {
            return v;
        }

        if (a.Has(2, "fallback"))
        {
            return a.Get(2, "fallback");
        }

        var e = new ConfigOptionNotFoundException(section, key);
        throw new PyException(e.Message, e);
    }
}

/// <summary><c>ti</c> / <c>task_instance</c>.</summary>
internal sealed class TaskInstanceObject(AirflowContextInput input, IXComReader? xcoms, IPyObject task) : IPyObject
{
    public string TypeName => "TaskInstance";

    public bool TryGetAttr(string name, out object? value)
    {
        value = name switch
        {
            "task_id" => input.TaskId,
            "dag_id" => input.DagId,
            "run_id" => input.RunId,
            "try_number" => (long)input.TryNumber,
            "map_index" => (long)input.MapIndex,
            "state" => input.State,
            "execution_date" or "logical_date" => PyDateTime.FromOffset(input.LogicalDate, pendulum: true),
            "task" => task,
            "xcom_pull" => new PyFunction(name, Pull),
            _ => null,
        };
        return value is not null;
    }

    private object? Pull(CallArgs a)
    {
        var taskIds = a.Get(0, "task_ids");
        var dagId = a.Get(1, "dag_id") is string d ? d : input.DagId;
        var key = a.Get(2, "key", "return_value") is string k ? k : "return_value";
        PyOps.Check(taskIds);
        var reader = Guard.Require(xcoms, "ti.xcom_pull");
        var hasDefault = a.Has(-1, "default");
        var dflt = a.Get(-1, "default");
        object? One(string? id)
        {
            var value = PyOps.FromDotNet(Guard.Run(() => reader.Pull(dagId, input.RunId, id, key)));
            return value is null && hasDefault ? dflt : value;
        }

        return taskIds switch
        {
            null => One(null),
            string s => One(s),
            _ => PyOps.Iterate(taskIds).Select(id => One(PyOps.Str(id))).ToList(),
        };
    }

    public override string ToString() =>
        $"<TaskInstance: {input.DagId}.{input.TaskId} {input.RunId} [{input.State}]>";
}
