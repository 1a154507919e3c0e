using Sirocco.Templating.Python;

namespace Sirocco.Templating.Expressions;

/// <summary>Turns template values back into plain .NET values for the host.</summary>
internal static class ValueConversion
{
    public static object? ToDotNet(object? v) => v switch
    {
        null or string or bool or long or double => v,
        List<object?> l => l.Select(ToDotNet).ToList(),
        PyTuple t => t.Items.Select(ToDotNet).ToArray(),
        PyDict d when d.Keys.All(k => k is string) => d.ToDictionary(kv => (string)kv.Key, kv => ToDotNet(kv.Value), StringComparer.Ordinal),
        PyDict d => d.ToDictionary(kv => ToDotNet(PyEqualityComparer.Unkey(kv.Key)) ?? "None", kv => ToDotNet(kv.Value)),
        PyDateTime dt when dt.Offset is not null => dt.ToOffset(),
        PyDateTime dt => dt.Wall,
        PyTimeDelta td => TimeSpan.FromTicks(td.Ticks),
        Undefined u => throw u.Fail(),
        _ => PyOps.Str(v),
    };

    /// <summary>
    /// Python's <c>ast.literal_eval</c> as Jinja2's native rendering applies it: a literal (number, string, bool, None,
    /// list, tuple, dict) is returned as that value; anything else is not a literal.
    /// </summary>
    public static bool TryLiteralEval(string text, out object? value)
    {
        value = null;
        if (text.Length == 0 || text[0] is ' ' or '\t' or '\n')
        {
            return false;
        }

        try
        {
            var tokens = PythonTokenizer.JinjaExpression(text);
            var parser = new Parser(tokens, PythonEnvironment);
            var expr = parser.ParseTuple(explicitParens: false);
            if (!parser.AtEnd || !IsLiteral(expr))
            {
                return false;
            }

            value = expr.Eval(new Scope(EmptyGlobals, PythonEnvironment, new Budget(1000)));
            return true;
        }
        catch (SyntaxErrorException)
        {
            return false;
        }
        catch (PyException)
        {
            return false;
        }
    }

    private static readonly ExprEnvironment PythonEnvironment = new() { PythonSyntax = true };

    private static readonly Dictionary<string, object?> EmptyGlobals = [];

    private static bool IsLiteral(Expr e) => e switch
    {
        ConstExpr => true,
        ListExpr l => l.Items.All(IsLiteral),
        TupleExpr t => t.Items.All(IsLiteral),
        DictExpr d => d.Items.All(p => IsLiteral(p.Key) && IsLiteral(p.Value)),
        UnaryExpr { IsSign: true } u => u.Operand is ConstExpr { Value: long or double },
        _ => false,
    };
}
