using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Sirocco.DagFiles.Airflow.Syntax;
using IPyCallable = Sirocco.Templating.Expressions.IPyCallable;
using IPyObject = Sirocco.Templating.Expressions.IPyObject;
using PyArith = Sirocco.Templating.Expressions.PyArith;
using PyDict = Sirocco.Templating.Expressions.PyDict;
using PyEqualityComparer = Sirocco.Templating.Expressions.PyEqualityComparer;
using PyException = Sirocco.Templating.Expressions.PyException;
using PyFormat = Sirocco.Templating.Expressions.PyFormat;
using PyFunction = Sirocco.Templating.Expressions.PyFunction;
using PyOps = Sirocco.Templating.Expressions.PyOps;
using PyTuple = Sirocco.Templating.Expressions.PyTuple;

namespace Sirocco.DagFiles.Airflow.Evaluation;

/// <summary>
/// Runs a parsed DAG file over the Templating value model (None, bool, int, float, str, list, tuple, dict, datetime,
/// timedelta) plus the Airflow objects of <see cref="Library"/>. Nothing outside that library is reachable: names
/// come from the file, the imports the library knows and a short list of builtins.
/// </summary>
internal sealed class Interpreter
{
    private const int MaxCallDepth = 30;

    private readonly ModuleNode _module;
    private readonly Library _library;
    private readonly Frame _globals = new(null);
    private readonly long _maxSteps;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TimeSpan _timeout;
    private readonly CancellationToken _cancellationToken;
    private readonly Dictionary<string, object?> _builtins;
    private long _steps;
    private int _callDepth;
    private object? _returnValue;

    public Interpreter(ModuleNode module, Library library, TimeSpan timeout, long maxSteps, CancellationToken cancellationToken)
    {
        _module = module;
        _library = library;
        library.Evaluator = this;
        _timeout = timeout;
        _maxSteps = maxSteps;
        _cancellationToken = cancellationToken;
        _builtins = Builtin.Create(this);
        _globals.Vars["__doc__"] = module.Docstring;
        _globals.Vars["__name__"] = "unusual_prefix_dag_file";
        _globals.Vars["__file__"] = library.FilePath;
    }

    public Frame Globals => _globals;

    public Library Library => _library;

    private enum Flow
    {
        Normal,
        Break,
        Continue,
        Return,
    }

    /// <summary>Runs the module; the DAGs it defines are then read from <see cref="Library"/> and the globals.</summary>
    public void Run() => _ = ExecBlock(_module.Body, _globals);

    public void Tick()
    {
        if (++_steps > _maxSteps)
        {
            throw new DagEvalException($"the DAG file ran more than {_maxSteps} steps (loops or calls without end?)");
        }

        if ((_steps & 1023) == 0)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            if (_clock.Elapsed > _timeout)
            {
                throw new TimeoutException();
            }
        }
    }

    /// <summary>
    /// Charges the budget for a value just built, so that the total size a file can allocate is bounded (a loop
    /// building big strings or lists runs out of steps instead of memory).
    /// </summary>
    private object? Charge(object? value)
    {
        var cost = value switch
        {
            string s => s.Length / 64,
            List<object?> l => l.Count / 8,
            PyTuple t => t.Count / 8,
            PyDict d => d.Count / 8,
            _ => 0,
        };
        if (cost > 0 && (_steps += cost) > _maxSteps)
        {
            throw new DagEvalException($"the DAG file ran more than {_maxSteps} steps (it builds too much data)");
        }

        return value;
    }

    private static void EnsureStack(int offset)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw new DagEvalException("the DAG file nests calls too deeply", offset);
        }
    }

    // ---- Statements ----
    private Flow ExecBlock(Stmt[] body, Frame frame)
    {
        foreach (var s in body)
        {
            var flow = Exec(s, frame);
            if (flow != Flow.Normal)
            {
                return flow;
            }
        }

        return Flow.Normal;
    }

    private Flow Exec(Stmt stmt, Frame frame)
    {
        Tick();
        EnsureStack(stmt.Offset);
        try
        {
            switch (stmt)
            {
                case ExprStmt e:
                    _ = Eval(e.Value, frame);
                    return Flow.Normal;
                case AssignStmt a:
                    var value = Eval(a.Value, frame);
                    foreach (var t in a.Targets)
                    {
                        Assign(t, value, frame);
                    }

                    return Flow.Normal;
                case AugAssignStmt aug:
                    AugAssign(aug, frame);
                    return Flow.Normal;
                case AnnAssignStmt ann:
                    if (ann.Value is not null)
                    {
                        Assign(ann.Target, Eval(ann.Value, frame), frame);
                    }

                    return Flow.Normal;
                case ImportStmt imp:
                    _library.Import(imp, frame);
                    return Flow.Normal;
                case TryImportStmt tryImport:
                    return TryImport(tryImport, frame);
                case IfStmt ifs:
                    return ExecBlock(Truthy(Eval(ifs.Test, frame)) ? ifs.Body : ifs.OrElse, frame);
                case ForStmt f:
                    return For(f, frame);
                case WithStmt w:
                    return With(w, frame);
                case FunctionDef def:
                    object? function = new UserFunction(def, frame);
                    for (var i = def.Decorators.Length - 1; i >= 0; i--)
                    {
                        function = Invoke(Eval(def.Decorators[i], frame), new Args([function], []), def.Decorators[i].Offset);
                    }

                    frame.Vars[def.Name] = function;
                    return Flow.Normal;
                case ClassDef cls:
                    frame.Vars[cls.Name] = new UserClass(cls, frame, [.. cls.Bases.Select(b => Eval(b, frame))]);
                    return Flow.Normal;
                case ReturnStmt r:
                    if (ReferenceEquals(frame, _globals))
                    {
                        throw new DagEvalException("'return' outside function", r.Offset);
                    }

                    _returnValue = r.Value is null ? null : Eval(r.Value, frame);
                    return Flow.Return;
                case SimpleStmt { Keyword: "break" }:
                    return Flow.Break;
                case SimpleStmt { Keyword: "continue" }:
                    return Flow.Continue;
                default:
                    return Flow.Normal;
            }
        }
        catch (DagEvalException e) when (e.Offset is null)
        {
            e.Offset = stmt.Offset;
            throw;
        }
        catch (PyException e)
        {
            throw new DagEvalException(e.Message, e.Offset ?? stmt.Offset);
        }
    }

    private Flow TryImport(TryImportStmt stmt, Frame frame)
    {
        var scratch = new Frame(null);
        try
        {
            foreach (var s in stmt.Body)
            {
                _ = Exec(s, scratch);
            }
        }
        catch (DagEvalException e) when (e.Message.StartsWith(Library.ImportErrorPrefix, StringComparison.Ordinal) || e.Message.StartsWith(Library.MissingNamePrefix, StringComparison.Ordinal))
        {
            return ExecBlock(stmt.Handler, frame);
        }

        foreach (var (k, v) in scratch.Vars)
        {
            frame.Vars[k] = v;
        }

        return Flow.Normal;
    }

    private Flow For(ForStmt f, Frame frame)
    {
        var items = Iterate(Eval(f.Iterable, frame), f.Iterable.Offset);
        foreach (var item in items)
        {
            Tick();
            Assign(f.Target, item, frame);
            var flow = ExecBlock(f.Body, frame);
            if (flow == Flow.Break)
            {
                return Flow.Normal;
            }

            if (flow == Flow.Return)
            {
                return flow;
            }
        }

        return ExecBlock(f.OrElse, frame);
    }

    private Flow With(WithStmt w, Frame frame)
    {
        var entered = new List<object>();
        try
        {
            foreach (var (contextExpr, target) in w.Items)
            {
                var context = Eval(contextExpr, frame);
                switch (context)
                {
                    case DagValue dag:
                        _library.EnterDag(dag);
                        break;
                    case GroupValue group:
                        _library.EnterGroup(group);
                        break;
                    default:
                        throw new DagEvalException($"'with' is supported only for DAG(...) and TaskGroup(...), not {Describe(context)}", contextExpr.Offset);
                }

                entered.Add(context);
                if (target is not null)
                {
                    Assign(target, context, frame);
                }
            }

            return ExecBlock(w.Body, frame);
        }
        finally
        {
            for (var i = entered.Count - 1; i >= 0; i--)
            {
                if (entered[i] is GroupValue)
                {
                    _library.ExitGroup();
                }
                else
                {
                    _library.ExitDag();
                }
            }
        }
    }

    private void AugAssign(AugAssignStmt aug, Frame frame)
    {
        var current = Eval(aug.Target, frame);
        var right = Eval(aug.Value, frame);
        object? result;
        if (aug.Op == "+" && current is List<object?> list)
        {
            // list += iterable extends the same list, as Python's in-place add.
            list.AddRange(Iterate(right, aug.Value.Offset));
            result = list;
        }
        else
        {
            result = BinaryOp(aug.Op, current, right, aug.Offset);
        }

        Assign(aug.Target, result, frame);
    }

    private void Assign(Expr target, object? value, Frame frame)
    {
        switch (target)
        {
            case NameExpr n:
                frame.Vars[n.Name] = value;
                break;
            case SequenceExpr s:
                var items = Iterate(value, target.Offset).ToList();
                var star = Array.FindIndex(s.Items, i => i is StarredExpr);
                if (star < 0)
                {
                    if (items.Count != s.Items.Length)
                    {
                        throw new DagEvalException(items.Count > s.Items.Length
                            ? $"too many values to unpack (expected {s.Items.Length})"
                            : $"not enough values to unpack (expected {s.Items.Length}, got {items.Count})", target.Offset);
                    }

                    for (var i = 0; i < items.Count; i++)
                    {
                        Assign(s.Items[i], items[i], frame);
                    }
                }
                else
                {
                    var after = s.Items.Length - star - 1;
                    if (items.Count < s.Items.Length - 1)
                    {
                        throw new DagEvalException($"not enough values to unpack (expected at least {s.Items.Length - 1}, got {items.Count})", target.Offset);
                    }

                    for (var i = 0; i < star; i++)
                    {
                        Assign(s.Items[i], items[i], frame);
                    }

                    Assign(((StarredExpr)s.Items[star]).Value, items.GetRange(star, items.Count - star - after), frame);
                    for (var i = 0; i < after; i++)
                    {
                        Assign(s.Items[star + 1 + i], items[items.Count - after + i], frame);
                    }
                }

                break;
            case SubscriptExpr sub:
                var container = Eval(sub.Target, frame);
                var key = Eval(sub.Index, frame);
                SetItem(container, key, value, sub.Offset);
                break;
            case AttributeExpr attr:
                _library.SetAttribute(Eval(attr.Target, frame), attr.Name, value, attr.Offset);
                break;
            default:
                throw new DagEvalException("cannot assign to this expression", target.Offset);
        }
    }

    private static void SetItem(object? container, object? key, object? value, int offset)
    {
        switch (container)
        {
            case PyDict d:
                Nesting.Check(key);
                if (key is List<object?> or PyDict)
                {
                    throw new DagEvalException($"unhashable type: '{PyOps.TypeName(key)}'", offset);
                }

                d[PyEqualityComparer.Key(key)] = value;
                break;
            case List<object?> l when key is long or bool:
                var i = PyOps.ToLong(key);
                if (i < 0)
                {
                    i += l.Count;
                }

                if (i < 0 || i >= l.Count)
                {
                    throw new DagEvalException("list assignment index out of range", offset);
                }

                l[(int)i] = value;
                break;
            case GlobalsProxy g when key is string name:
                g.Module.Vars[name] = value;
                break;
            default:
                throw new DagEvalException($"'{PyOps.TypeName(container)}' object does not support item assignment", offset);
        }
    }

    // ---- Expressions ----
    public object? Eval(Expr expr, Frame frame)
    {
        EnsureStack(expr.Offset);
        try
        {
            return EvalCore(expr, frame);
        }
        catch (PyException e)
        {
            throw new DagEvalException(e.Message, e.Offset ?? expr.Offset);
        }
        catch (SiroccoException e)
        {
            throw new DagEvalException(e.Message, expr.Offset);
        }
        catch (DagEvalException e) when (e.Offset is null)
        {
            e.Offset = expr.Offset;
            throw;
        }
    }

    private object? EvalCore(Expr expr, Frame frame)
    {
        switch (expr)
        {
            case ConstExpr c:
                return c.Value;
            case NameExpr n:
                return Lookup(n.Name, frame, n.Offset);
            case FStringExpr f:
                return FString(f, frame);
            case SequenceExpr s:
                var items = new List<object?>(s.Items.Length);
                foreach (var i in s.Items)
                {
                    if (i is StarredExpr st)
                    {
                        items.AddRange(Iterate(Eval(st.Value, frame), st.Offset));
                    }
                    else
                    {
                        items.Add(Eval(i, frame));
                    }
                }

                return s.Kind switch
                {
                    "tuple" => new PyTuple([.. items]),
                    "set" => Distinct(items),
                    _ => items,
                };
            case StarredExpr st:
                throw new DagEvalException("can't use starred expression here", st.Offset);
            case DictExpr d:
                var dict = new PyDict(d.Items.Length);
                foreach (var (k, v) in d.Items)
                {
                    if (k is null)
                    {
                        if (Eval(v, frame) is not PyDict other)
                        {
                            throw new DagEvalException("'**' in a dict display needs a dict", v.Offset);
                        }

                        foreach (var (ok, ov) in other)
                        {
                            dict[ok] = ov;
                        }

                        continue;
                    }

                    var key = Eval(k, frame);
                    Nesting.Check(key);
                    if (key is List<object?> or PyDict)
                    {
                        throw new DagEvalException($"unhashable type: '{PyOps.TypeName(key)}'", k.Offset);
                    }

                    dict[PyEqualityComparer.Key(key)] = Eval(v, frame);
                }

                return dict;
            case ComprehensionExpr comp:
                return Comprehension(comp, frame);
            case LambdaExpr l:
                return new UserFunction(l.Definition, frame);
            case AttributeExpr a:
                return _library.GetAttribute(Eval(a.Target, frame), a.Name, a.Offset, this);
            case SubscriptExpr sub:
                var target = Eval(sub.Target, frame);
                if (sub.Index is SliceExpr sl)
                {
                    return PyOps.Slice(target, sl.Start is null ? null : Eval(sl.Start, frame), sl.Stop is null ? null : Eval(sl.Stop, frame), sl.Step is null ? null : Eval(sl.Step, frame));
                }

                return GetItem(target, Eval(sub.Index, frame), sub.Offset);
            case SliceExpr:
                throw new DagEvalException("slices are only allowed in subscripts", expr.Offset);
            case CallExpr call:
                return Call(call, frame);
            case UnaryExpr u:
                var operand = Eval(u.Operand, frame);
                return u.Op switch
                {
                    "not" => !Truthy(operand),
                    "-" => PyArith.Negate(operand),
                    "+" => PyArith.Plus(operand),
                    _ => operand is long or bool ? ~PyOps.ToLong(operand) : throw new DagEvalException($"bad operand type for unary ~: '{PyOps.TypeName(operand)}'", u.Offset),
                };
            case BinaryExpr b:
                return BinaryOp(b.Op, Eval(b.Left, frame), Eval(b.Right, frame), b.Offset);
            case BoolExpr b:
                var left = Eval(b.Left, frame);
                return Truthy(left) == b.IsAnd ? Eval(b.Right, frame) : left;
            case CompareExpr c:
                return Compare(c, frame);
            case ConditionalExpr c:
                return Truthy(Eval(c.Test, frame)) ? Eval(c.Then, frame) : Eval(c.Otherwise, frame);
            default:
                throw new DagEvalException("unsupported expression", expr.Offset);
        }
    }

    private object? Lookup(string name, Frame frame, int offset)
    {
        if (frame.TryLookup(name, out var value) || (!ReferenceEquals(frame, _globals) && _globals.TryLookup(name, out value)))
        {
            return value;
        }

        if (_builtins.TryGetValue(name, out value))
        {
            return value;
        }

        throw new DagEvalException(Builtin.Forbidden.Contains(name)
            ? $"{name}() is not allowed in DAG files read without Python"
            : $"name '{name}' is not defined", offset);
    }

    private static List<object?> Distinct(List<object?> items)
    {
        Nesting.Check(items);
        var seen = new HashSet<object>(PyEqualityComparer.Instance);
        var result = new List<object?>(items.Count);
        foreach (var i in items)
        {
            if (seen.Add(PyEqualityComparer.Key(i)))
            {
                result.Add(i);
            }
        }

        return result;
    }

    private string FString(FStringExpr f, Frame frame)
    {
        var sb = new StringBuilder();
        foreach (var part in f.Parts)
        {
            if (part is string s)
            {
                sb.Append(s);
                continue;
            }

            var p = (FormattedPart)part;
            var value = Eval(p.Value, frame);
            var spec = p.Spec is null ? string.Empty : PyOps.Str(Eval(p.Spec, frame));
            if (p.Conversion is 'r' or 'a')
            {
                value = Repr(value);
            }
            else if (p.Conversion == 's')
            {
                value = Str(value);
            }

            sb.Append(value is string str && spec.Length == 0 ? str : spec.Length == 0 ? Str(value) : PyFormat.FormatValue(value, spec));
            if (sb.Length > PyArith.MaxValueLength)
            {
                throw new DagEvalException("string too long for a DAG file", f.Offset);
            }
        }

        return sb.ToString();
    }

    /// <summary>Python's <c>str()</c>, also for the Airflow objects.</summary>
    public static string Str(object? value) => value switch
    {
        IPyObject o and not PyFunction => o.ToString() ?? string.Empty,
        _ => PyOps.Str(value),
    };

    public static string Repr(object? value) => value switch
    {
        IPyObject o and not PyFunction => o.ToString() ?? string.Empty,
        _ => PyOps.Repr(value),
    };

    private object? Comprehension(ComprehensionExpr comp, Frame frame)
    {
        var inner = new Frame(frame);
        var list = new List<object?>();
        var dict = comp.Kind == "dict" ? new PyDict() : null;
        void Level(int index)
        {
            if (index == comp.Clauses.Length)
            {
                Tick();
                if (dict is not null)
                {
                    var key = Eval(comp.Element, inner);
                    Nesting.Check(key);
                    if (key is List<object?> or PyDict)
                    {
                        throw new DagEvalException($"unhashable type: '{PyOps.TypeName(key)}'", comp.Element.Offset);
                    }

                    dict[PyEqualityComparer.Key(key)] = Eval(comp.Value!, inner);
                }
                else
                {
                    list.Add(Eval(comp.Element, inner));
                    if (list.Count > PyArith.MaxValueLength)
                    {
                        throw new DagEvalException("list too long for a DAG file", comp.Offset);
                    }
                }

                return;
            }

            var clause = comp.Clauses[index];
            // The first iterable is evaluated in the enclosing scope, as in Python.
            foreach (var item in Iterate(Eval(clause.Iterable, index == 0 ? frame : inner), clause.Iterable.Offset))
            {
                Tick();
                Assign(clause.Target, item, inner);
                if (clause.Conditions.All(c => Truthy(Eval(c, inner))))
                {
                    Level(index + 1);
                }
            }
        }

        Level(0);
        return comp.Kind switch
        {
            "dict" => dict,
            "set" => Distinct(list),
            _ => list,
        };
    }

    private bool Compare(CompareExpr c, Frame frame)
    {
        var left = Eval(c.First, frame);
        foreach (var (op, offset, operandExpr) in c.Rest)
        {
            var right = Eval(operandExpr, frame);
            bool ok;
            try
            {
                ok = op switch
                {
                    "==" => Equal(left, right),
                    "!=" => !Equal(left, right),
                    "in" => Contains(right, left),
                    "not in" => !Contains(right, left),
                    "is" => Identical(left, right),
                    "is not" => !Identical(left, right),
                    _ => Order(left, right, op),
                };
            }
            catch (PyException e)
            {
                throw new DagEvalException(e.Message, offset);
            }

            if (!ok)
            {
                return false;
            }

            left = right;
        }

        return true;
    }

    private static bool Identical(object? a, object? b) =>
        a is null || a is bool ? Equals(a, b) && (b is null || b is bool) : ReferenceEquals(a, b) || (a is string s && b is string t && s == t);

    private static bool Equal(object? a, object? b)
    {
        if (a is IPyObject || b is IPyObject)
        {
            return ReferenceEquals(a, b) || Equals(a, b);
        }

        Nesting.Check(a);
        Nesting.Check(b);
        return PyOps.Eq(a, b);
    }

    private static bool Order(object? a, object? b, string op)
    {
        Nesting.Check(a);
        Nesting.Check(b);
        var c = PyOps.Compare(a, b, op);
        return op switch
        {
            "<" => c < 0,
            "<=" => c <= 0,
            ">" => c > 0,
            _ => c >= 0,
        };
    }

    private static bool Contains(object? container, object? item)
    {
        if (container is List<object?> l && item is IPyObject)
        {
            return l.Exists(x => ReferenceEquals(x, item));
        }

        Nesting.Check(container);
        Nesting.Check(item);
        return PyOps.Contains(container, item);
    }

    /// <summary>Python's truth value; Airflow objects are always true.</summary>
    public static bool Truthy(object? value) => value is IPyObject || PyOps.Truthy(value);

    public IEnumerable<object?> Iterate(object? value, int offset) => value switch
    {
        List<object?> l => [.. l], // a snapshot, so the body may change the list
        PyDict d => [.. d.Keys.Select(PyEqualityComparer.Unkey)],
        PyTuple or string => PyOps.Iterate(value),
        DagValue dv => [.. dv.Dag.Tasks.Select(t => (object?)_library.Wrap(t))],
        _ => throw new DagEvalException($"'{PyOps.TypeName(value)}' object is not iterable", offset),
    };

    private static object? GetItem(object? target, object? key, int offset)
    {
        switch (target)
        {
            case XComArgValue x when key is string k:
                return x with { Key = k };
            case PyDict d:
                Nesting.Check(key);
                return d.TryGetValue(PyEqualityComparer.Key(key), out var v) ? v : throw new DagEvalException($"KeyError: {PyOps.Repr(key)}", offset);
            case List<object?> or PyTuple or string when key is long or bool:
                var count = target is string s ? s.Length : ((IReadOnlyList<object?>)target).Count;
                var i = PyOps.ToLong(key);
                if (i < 0)
                {
                    i += count;
                }

                if (i < 0 || i >= count)
                {
                    throw new DagEvalException($"{PyOps.TypeName(target)} index out of range", offset);
                }

                return target is string str ? str[(int)i].ToString() : ((IReadOnlyList<object?>)target)[(int)i];
            case List<object?> or PyTuple or string:
                throw new DagEvalException($"{PyOps.TypeName(target)} indices must be integers or slices, not {PyOps.TypeName(key)}", offset);
            case Namespace { Name: "os.environ" } env when key is string name:
                return env.Members.TryGetValue(name, out var e) ? e : throw new DagEvalException($"KeyError: {PyOps.Repr(name)} (environment variable not set)", offset);
            default:
                throw new DagEvalException($"'{PyOps.TypeName(target)}' object is not subscriptable", offset);
        }
    }

    public object? BinaryOp(string op, object? left, object? right, int offset)
    {
        if (op is ">>" or "<<")
        {
            return _library.Dependency(op, left, right, offset);
        }

        if (op == "|" && left is PyDict a && right is PyDict b)
        {
            var merged = new PyDict(a.Count + b.Count);
            foreach (var (k, v) in a)
            {
                merged[k] = v;
            }

            foreach (var (k, v) in b)
            {
                merged[k] = v;
            }

            return merged;
        }

        if (op is "|" or "&" or "^")
        {
            if (left is long or bool && right is long or bool)
            {
                var x = PyOps.ToLong(left);
                var y = PyOps.ToLong(right);
                return op switch
                {
                    "|" => x | y,
                    "&" => x & y,
                    _ => x ^ y,
                };
            }

            throw new DagEvalException($"unsupported operand type(s) for {op}: '{PyOps.TypeName(left)}' and '{PyOps.TypeName(right)}'", offset);
        }

        if (op == "@")
        {
            throw new DagEvalException("the @ operator is not supported", offset);
        }

        if (left is IPyObject || right is IPyObject)
        {
            throw new DagEvalException($"unsupported operand type(s) for {op}: '{PyOps.TypeName(left)}' and '{PyOps.TypeName(right)}'", offset);
        }

        try
        {
            return Charge(PyArith.Binary(op, left, right));
        }
        catch (PyException e)
        {
            throw new DagEvalException(e.Message, offset);
        }
    }

    private object? Call(CallExpr call, Frame frame)
    {
        var callee = Eval(call.Callee, frame);
        var positional = new List<object?>();
        var keywords = new List<KeywordArg>();
        foreach (var a in call.Args)
        {
            if (a.Star)
            {
                positional.AddRange(Iterate(Eval(a.Value, frame), a.Offset));
            }
            else if (a.DoubleStar)
            {
                if (Eval(a.Value, frame) is not PyDict d)
                {
                    throw new DagEvalException("argument after ** must be a dict", a.Offset);
                }

                foreach (var (k, v) in d)
                {
                    if (k is not string name)
                    {
                        throw new DagEvalException("keywords must be strings", a.Offset);
                    }

                    if (keywords.Exists(x => x.Name == name))
                    {
                        throw new DagEvalException($"got multiple values for keyword argument '{name}'", a.Offset);
                    }

                    keywords.Add(new KeywordArg(name, v, a.Offset));
                }
            }
            else if (a.Name is not null)
            {
                if (keywords.Exists(x => x.Name == a.Name))
                {
                    throw new DagEvalException($"got multiple values for keyword argument '{a.Name}'", a.Offset);
                }

                keywords.Add(new KeywordArg(a.Name, Eval(a.Value, frame), a.Offset));
            }
            else
            {
                positional.Add(Eval(a.Value, frame));
            }
        }

        var args = new Args(positional, keywords);
        try
        {
            return Invoke(callee, args, call.Offset);
        }
        catch (KeywordException e)
        {
            var at = keywords.Find(k => k.Name == e.Keyword);
            throw new DagEvalException(e.Message, at.Name is null ? call.Offset : at.Offset);
        }
    }

    public object? Invoke(object? callee, Args args, int offset)
    {
        Tick();
        switch (callee)
        {
            case NativeFunction n:
                return Charge(n.Invoke(args));
            case UserFunction u:
                return CallUser(u, args, offset);
            case UserClass c:
                throw new DagEvalException($"{c.Definition.Name}(): objects of classes defined in the file cannot be made while it is read without Python (a class of the file can be given as callbacks= to KubernetesPodOperator)", offset);
            case IPyCallable c:
                return Charge(c.Invoke(args.ToCallArgs()));
            case ForeignValue f:
                throw new DagEvalException(f.Unusable(), offset);
            default:
                throw new DagEvalException($"'{PyOps.TypeName(callee)}' object is not callable", offset);
        }
    }

    private object? CallUser(UserFunction f, Args args, int offset)
    {
        if (f.Definition.OpaqueReason is { } reason)
        {
            throw new DagEvalException($"{f.Definition.Name}() cannot run while the DAG file is read ({reason}); it can run as a task, in a pod", offset);
        }

        if (_callDepth >= MaxCallDepth)
        {
            throw new DagEvalException($"function calls nested more than {MaxCallDepth} deep (recursion?)", offset);
        }

        var def = f.Definition;
        var frame = new Frame(f.Closure);
        var extra = new List<object?>();
        var extraKw = new PyDict();
        var pi = 0;
        foreach (var p in def.Parameters)
        {
            switch (p.Kind)
            {
                case 0:
                    if (pi < args.Positional.Count)
                    {
                        frame.Vars[p.Name] = args.Positional[pi++];
                    }

                    break;
                case 1:
                    while (pi < args.Positional.Count)
                    {
                        extra.Add(args.Positional[pi++]);
                    }

                    frame.Vars[p.Name] = new PyTuple([.. extra]);
                    break;
            }
        }

        if (pi < args.Positional.Count)
        {
            throw new DagEvalException($"{def.Name}() takes {def.Parameters.Count(p => p.Kind == 0)} positional arguments but {args.Positional.Count} were given", offset);
        }

        foreach (var k in args.Keywords)
        {
            var p = Array.Find(def.Parameters, x => x.Name == k.Name && x.Kind is 0 or 3);
            if (p is null)
            {
                if (Array.Exists(def.Parameters, x => x.Kind == 2))
                {
                    extraKw[k.Name] = k.Value;
                    continue;
                }

                throw new DagEvalException($"{def.Name}() got an unexpected keyword argument '{k.Name}'", k.Offset);
            }

            if (frame.Vars.ContainsKey(k.Name))
            {
                throw new DagEvalException($"{def.Name}() got multiple values for argument '{k.Name}'", k.Offset);
            }

            frame.Vars[k.Name] = k.Value;
        }

        foreach (var p in def.Parameters)
        {
            if (p.Kind == 2)
            {
                frame.Vars[p.Name] = extraKw;
            }
            else if (p.Kind is 0 or 3 && !frame.Vars.ContainsKey(p.Name))
            {
                if (p.Default is null)
                {
                    throw new DagEvalException($"{def.Name}() missing required argument: '{p.Name}'", offset);
                }

                // Defaults are evaluated at call time here (Python evaluates them once, at definition).
                frame.Vars[p.Name] = Eval(p.Default, f.Closure);
            }
        }

        _callDepth++;
        try
        {
            _returnValue = null;
            var flow = ExecBlock(def.Body, frame);
            var result = flow == Flow.Return ? _returnValue : null;
            _returnValue = null;
            return result;
        }
        finally
        {
            _callDepth--;
        }
    }

    public static string Describe(object? value) => value switch
    {
        null => "None",
        IPyObject o => o.TypeName,
        _ => PyOps.TypeName(value),
    };
}
