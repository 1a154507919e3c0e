namespace Sirocco.DagFiles.Airflow.Syntax;

/// <summary>A syntax error, or a construct outside the subset, at an offset of the file.</summary>
internal sealed class DagSyntaxException(string message, int offset) : Exception(message)
{
    public int Offset { get; } = offset;
}

/// <summary>A node of the file's tree; <see cref="Offset"/> locates it for error messages.</summary>
internal abstract class Node(int offset)
{
    public int Offset { get; } = offset;
}

// ---- Expressions ----
internal abstract class Expr(int offset) : Node(offset);

internal sealed class ConstExpr(int offset, object? value) : Expr(offset)
{
    public object? Value { get; } = value;
}

internal sealed class NameExpr(int offset, string name) : Expr(offset)
{
    public string Name { get; } = name;
}

/// <summary>An f-string: literal parts (strings) and formatted parts.</summary>
internal sealed class FStringExpr(int offset, IReadOnlyList<object> parts) : Expr(offset)
{
    /// <summary>Each part is a <see cref="string"/> or a <see cref="FormattedPart"/>.</summary>
    public IReadOnlyList<object> Parts { get; } = parts;
}

internal sealed record FormattedPart(Expr Value, char Conversion, Expr? Spec);

/// <summary>A list, tuple or set display; items may be <see cref="StarredExpr"/>.</summary>
internal sealed class SequenceExpr(int offset, string kind, Expr[] items) : Expr(offset)
{
    /// <summary><c>list</c>, <c>tuple</c> or <c>set</c>.</summary>
    public string Kind { get; } = kind;

    public Expr[] Items { get; } = items;
}

internal sealed class StarredExpr(int offset, Expr value) : Expr(offset)
{
    public Expr Value { get; } = value;
}

/// <summary>A dict display; a null key marks <c>**mapping</c>.</summary>
internal sealed class DictExpr(int offset, (Expr? Key, Expr Value)[] items) : Expr(offset)
{
    public (Expr? Key, Expr Value)[] Items { get; } = items;
}

internal sealed record ComprehensionClause(Expr Target, Expr Iterable, Expr[] Conditions);

/// <summary>A list, set, generator or dict comprehension (<see cref="Value"/> set only for dicts).</summary>
internal sealed class ComprehensionExpr(int offset, string kind, Expr element, Expr? value, ComprehensionClause[] clauses) : Expr(offset)
{
    public string Kind { get; } = kind;

    public Expr Element { get; } = element;

    public Expr? Value { get; } = value;

    public ComprehensionClause[] Clauses { get; } = clauses;
}

internal sealed class AttributeExpr(int offset, Expr target, string name) : Expr(offset)
{
    public Expr Target { get; } = target;

    public string Name { get; } = name;
}

internal sealed class SubscriptExpr(int offset, Expr target, Expr index) : Expr(offset)
{
    public Expr Target { get; } = target;

    public Expr Index { get; } = index;
}

internal sealed class SliceExpr(int offset, Expr? start, Expr? stop, Expr? step) : Expr(offset)
{
    public Expr? Start { get; } = start;

    public Expr? Stop { get; } = stop;

    public Expr? Step { get; } = step;
}

/// <summary>One argument of a call: positional, <c>name=value</c>, <c>*seq</c> or <c>**mapping</c>.</summary>
internal sealed record Argument(int Offset, string? Name, Expr Value, bool Star = false, bool DoubleStar = false);

internal sealed class CallExpr(int offset, Expr callee, Argument[] args) : Expr(offset)
{
    public Expr Callee { get; } = callee;

    public Argument[] Args { get; } = args;
}

internal sealed class UnaryExpr(int offset, string op, Expr operand) : Expr(offset)
{
    public string Op { get; } = op;

    public Expr Operand { get; } = operand;
}

internal sealed class BinaryExpr(int offset, string op, Expr left, Expr right) : Expr(offset)
{
    public string Op { get; } = op;

    public Expr Left { get; } = left;

    public Expr Right { get; } = right;
}

/// <summary><c>and</c> / <c>or</c>.</summary>
internal sealed class BoolExpr(int offset, bool isAnd, Expr left, Expr right) : Expr(offset)
{
    public bool IsAnd { get; } = isAnd;

    public Expr Left { get; } = left;

    public Expr Right { get; } = right;
}

internal sealed class CompareExpr(int offset, Expr first, (string Op, int Offset, Expr Operand)[] rest) : Expr(offset)
{
    public Expr First { get; } = first;

    public (string Op, int Offset, Expr Operand)[] Rest { get; } = rest;
}

internal sealed class ConditionalExpr(int offset, Expr test, Expr then, Expr otherwise) : Expr(offset)
{
    public Expr Test { get; } = test;

    public Expr Then { get; } = then;

    public Expr Otherwise { get; } = otherwise;
}

// ---- Statements ----
internal abstract class Stmt(int offset) : Node(offset);

internal sealed class ExprStmt(int offset, Expr value) : Stmt(offset)
{
    public Expr Value { get; } = value;
}

/// <summary><c>a = b = value</c>: every target receives the value.</summary>
internal sealed class AssignStmt(int offset, Expr[] targets, Expr value) : Stmt(offset)
{
    public Expr[] Targets { get; } = targets;

    public Expr Value { get; } = value;
}

internal sealed class AugAssignStmt(int offset, Expr target, string op, Expr value) : Stmt(offset)
{
    public Expr Target { get; } = target;

    /// <summary>The binary operator, without <c>=</c>.</summary>
    public string Op { get; } = op;

    public Expr Value { get; } = value;
}

/// <summary>An annotated assignment <c>x: T = v</c> (the annotation is not evaluated).</summary>
internal sealed class AnnAssignStmt(int offset, Expr target, Expr? value) : Stmt(offset)
{
    public Expr Target { get; } = target;

    public Expr? Value { get; } = value;
}

/// <summary><c>import a.b as c</c> (<see cref="Module"/> null) or <c>from m import a as b</c>.</summary>
internal sealed class ImportStmt(int offset, string? module, (string Name, string? AsName, int Offset)[] names) : Stmt(offset)
{
    public string? Module { get; } = module;

    public (string Name, string? AsName, int Offset)[] Names { get; } = names;
}

internal sealed class IfStmt(int offset, Expr test, Stmt[] body, Stmt[] orElse) : Stmt(offset)
{
    public Expr Test { get; } = test;

    public Stmt[] Body { get; } = body;

    public Stmt[] OrElse { get; } = orElse;
}

internal sealed class ForStmt(int offset, Expr target, Expr iterable, Stmt[] body, Stmt[] orElse) : Stmt(offset)
{
    public Expr Target { get; } = target;

    public Expr Iterable { get; } = iterable;

    public Stmt[] Body { get; } = body;

    public Stmt[] OrElse { get; } = orElse;
}

internal sealed class WithStmt(int offset, (Expr Context, Expr? Target)[] items, Stmt[] body) : Stmt(offset)
{
    public (Expr Context, Expr? Target)[] Items { get; } = items;

    public Stmt[] Body { get; } = body;
}

internal sealed record Parameter(string Name, Expr? Default, int Kind); // 0 plain, 1 *args, 2 **kwargs, 3 keyword-only

internal sealed class FunctionDef(int offset, string name, Parameter[] parameters, Stmt[] body, string? docstring) : Stmt(offset)
{
    public string Name { get; } = name;

    public Parameter[] Parameters { get; } = parameters;

    public Stmt[] Body { get; } = body;

    public string? Docstring { get; } = docstring;

    /// <summary>The decorators, outermost first.</summary>
    public Expr[] Decorators { get; set; } = [];

    /// <summary>The definition's text from its <c>def</c> line, dedented; for a lambda, its expression in parentheses.</summary>
    public string? Source { get; init; }

    /// <summary>Why the body could not be parsed into the subset (it is kept as text, to run in a pod); null when it was.</summary>
    public string? OpaqueReason { get; init; }

    /// <summary>For an opaque body: the names it reads, as far as its tokens tell.</summary>
    public IReadOnlyList<string>? OpaqueNames { get; init; }

    /// <summary>
    /// Whether the return annotation is a dict (<c>-&gt; dict</c>, <c>-&gt; dict[str, int]</c>, <c>-&gt; Dict[...]</c>,
    /// <c>-&gt; typing.Dict</c>, or the same as a string), from which Airflow infers a @task's multiple_outputs.
    /// </summary>
    public bool ReturnsDict { get; init; }
}

/// <summary>
/// <c>class Name(bases): ...</c>. The reader never runs a class body: it keeps the text (shipped to the pods that run
/// the class's hooks) and parses each method at the body's own level, as a function (opaque when it must be).
/// </summary>
internal sealed class ClassDef(int offset, string name, Expr[] bases, FunctionDef[] methods) : Stmt(offset)
{
    public string Name { get; } = name;

    public Expr[] Bases { get; } = bases;

    /// <summary>The methods the reader could parse, in order; a method it could not is absent (it still runs in a pod).</summary>
    public FunctionDef[] Methods { get; } = methods;

    /// <summary>The names of every <c>def</c> at the body's own level, parsed or not.</summary>
    public IReadOnlyList<string> MethodNames { get; init; } = [];

    /// <summary>The class's text from its <c>class</c> line, dedented.</summary>
    public string Source { get; init; } = string.Empty;

    /// <summary>The names the class's text reads, as far as its tokens tell (what shipping it may need from the file).</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
}

/// <summary><c>lambda params: expr</c>, as a function whose body returns the expression.</summary>
internal sealed class LambdaExpr(int offset, FunctionDef definition) : Expr(offset)
{
    public FunctionDef Definition { get; } = definition;
}

internal sealed class ReturnStmt(int offset, Expr? value) : Stmt(offset)
{
    public Expr? Value { get; } = value;
}

/// <summary><c>pass</c>, <c>break</c> or <c>continue</c>.</summary>
internal sealed class SimpleStmt(int offset, string keyword) : Stmt(offset)
{
    public string Keyword { get; } = keyword;
}

/// <summary><c>try: ... except ImportError: ...</c>, the one exception handler the subset allows (for imports).</summary>
internal sealed class TryImportStmt(int offset, Stmt[] body, Stmt[] handler) : Stmt(offset)
{
    public Stmt[] Body { get; } = body;

    public Stmt[] Handler { get; } = handler;
}

/// <summary>A parsed file: its statements and its docstring.</summary>
internal sealed class ModuleNode(Stmt[] body, string? docstring)
{
    public Stmt[] Body { get; } = body;

    public string? Docstring { get; } = docstring;

    /// <summary>The decorators, outermost first.</summary>
    public Expr[] Decorators { get; set; } = [];

    /// <summary>The definition's text from its <c>def</c> line, dedented; for a lambda, its expression in parentheses.</summary>
    public string? Source { get; init; }

    /// <summary>Why the body could not be parsed into the subset (it is kept as text, to run in a pod); null when it was.</summary>
    public string? OpaqueReason { get; init; }

    /// <summary>For an opaque body: the names it reads, as far as its tokens tell.</summary>
    public IReadOnlyList<string>? OpaqueNames { get; init; }
}
