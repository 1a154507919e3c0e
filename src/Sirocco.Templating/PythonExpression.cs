using Sirocco.Templating.Expressions;
using Sirocco.Templating.Jinja;
using Sirocco.Templating.Python;

namespace Sirocco.Templating;

/// <summary>Which expression grammar to parse.</summary>
public enum ExpressionSyntax
{
    /// <summary>Plain Python: no filters or tests, <c>is</c> is identity, only <c>True</c>/<c>False</c>/<c>None</c> are constants.</summary>
    Python,

    /// <summary>Jinja2's expressions: filters (<c>x | upper</c>), tests (<c>x is defined</c>), <c>~</c>, lower-case constants.</summary>
    Jinja,
}

/// <summary>
/// A compiled Python (or Jinja2) expression over the sandboxed value model, usable without templates (for example by
/// the Airflow DAG-file reader). Names are read from the dictionary handed to <see cref="Evaluate"/>; nothing else
/// is reachable.
/// </summary>
public sealed class PythonExpression
{
    private static readonly ExprEnvironment PythonEnvironment = new() { PythonSyntax = true };
    private static readonly ExprEnvironment JinjaEnvironment = JinjaFilters.CreateEnvironment();
    private readonly Expr _expr;
    private readonly ExprEnvironment _environment;

    private PythonExpression(string text, Expr expr, ExprEnvironment environment)
    {
        Text = text;
        _expr = expr;
        _environment = environment;
    }

    /// <summary>The expression text.</summary>
    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>; a syntax error is a <see cref="TemplateException"/> with its position.</summary>
    /// <exception cref="TemplateException">The text is not a valid expression.</exception>
    public static PythonExpression Parse(string text, ExpressionSyntax syntax = ExpressionSyntax.Python)
    {
        ArgumentNullException.ThrowIfNull(text);
        var environment = syntax == ExpressionSyntax.Python ? PythonEnvironment : JinjaEnvironment;
        try
        {
            var parser = new Parser(PythonTokenizer.JinjaExpression(text), environment);
            var expr = parser.ParseTuple();
            parser.ExpectEnd("expression");
            return new PythonExpression(text, expr, environment);
        }
        catch (SyntaxErrorException e)
        {
            var (line, column) = Template.Position(text, e.Offset);
            throw new TemplateException(e.Message, text, line, column, null, isSyntaxError: true, e);
        }
    }

    /// <summary>
    /// Evaluates the expression. <paramref name="names"/> takes the values <see cref="TemplateContext.Set"/> accepts;
    /// the result uses the mapping of <see cref="Template.RenderNative(TemplateContext, string?)"/>.
    /// </summary>
    /// <exception cref="TemplateException">Evaluation failed (undefined name, type error, limit reached).</exception>
    public object? Evaluate(IReadOnlyDictionary<string, object?>? names = null, long maxSteps = 100_000)
    {
        var globals = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (names is not null)
        {
            foreach (var (k, v) in names)
            {
                globals[k] = PyOps.FromDotNet(v);
            }
        }

        try
        {
            var budget = new Budget(maxSteps);
            using var active = budget.Activate();
            return ValueConversion.ToDotNet(_expr.Eval(new Scope(globals, _environment, budget)));
        }
        catch (PyException e)
        {
            var (line, column) = Template.Position(Text, e.Offset ?? 0);
            var reason = e.Message.Replace(PyException.LineMarker, line.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            throw new TemplateException(reason, Text, line, column, null, isSyntaxError: false, e);
        }
    }

    /// <summary>Python's <c>ast.literal_eval</c>: true and the value when <paramref name="text"/> is a literal.</summary>
    public static bool TryLiteral(string text, out object? value)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = null;
        if (!ValueConversion.TryLiteralEval(text, out var raw))
        {
            return false;
        }

        value = ValueConversion.ToDotNet(raw);
        return true;
    }
}
