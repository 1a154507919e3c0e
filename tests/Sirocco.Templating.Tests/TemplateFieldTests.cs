namespace Sirocco.Templating.Tests;

public class TemplateFieldTests
{
    public sealed class EnvVar
    {
        public string? Name { get; set; }

        public string? Value { get; set; }
    }

    public sealed class Resources
    {
        public Dictionary<string, string>? Limits { get; set; }
    }

    public sealed class Quantity(string text)
    {
        public override string ToString() => text;
    }

    public sealed class FakeOperator
    {
        public string? TaskId { get; set; }

        public List<string>? Arguments { get; set; }

        public string[]? Cmds { get; set; }

        public Dictionary<string, string>? EnvVars { get; set; }

        public List<EnvVar>? Env { get; set; }

        public Resources? ContainerResources { get; set; }

        public Quantity? Memory { get; set; }

        public string? ConfigFile { get; set; }

        public object? Payload { get; set; }

        public int Retries { get; set; }
    }

    private static TemplateContext Context() => new TemplateContext()
        .Set("ds", "2024-03-15")
        .Set("n", 3)
        .Set("name", "pod")
        .Set("items", new[] { 1, 2, 3 });

    private static FakeOperator Operator() => new()
    {
        TaskId = "{{ ds }}",
        Arguments = ["{{ ds }}", "plain", "{{ n * 2 }}"],
        Cmds = ["echo", "{{ name | upper }}"],
        EnvVars = new() { ["MY_VALUE"] = "{{ name }}-{{ n }}" },
        Env = [new EnvVar { Name = "A", Value = "{{ ds }}" }],
        ContainerResources = new Resources { Limits = new() { ["memory"] = "{{ n }}Gi" } },
        Memory = new Quantity("{{ n }}Mi"),
        ConfigFile = "/etc/{{ name }}.conf",
        Payload = "{{ items }}",
        Retries = 2,
    };

    private static readonly string[] AllFields = ["Arguments", "Cmds", "EnvVars", "Env", "ContainerResources", "Memory", "ConfigFile", "Payload"];

    [Fact]
    public void Renders_nested_strings_in_lists_arrays_dictionaries_and_objects_without_touching_the_input()
    {
        var op = Operator();
        var rendered = new TemplateFieldRenderer(new TemplateEngine()).RenderFields(op, AllFields, Context());

        Assert.Equal(["2024-03-15", "plain", "6"], rendered.Arguments!);
        Assert.Equal(["echo", "POD"], rendered.Cmds!);
        Assert.Equal("pod-3", rendered.EnvVars!["MY_VALUE"]);
        Assert.Equal("2024-03-15", rendered.Env![0].Value);
        Assert.Equal("A", rendered.Env[0].Name);
        Assert.Equal("3Gi", rendered.ContainerResources!.Limits!["memory"]);
        Assert.Equal("3Mi", rendered.Memory!.ToString());
        Assert.Equal("/etc/pod.conf", rendered.ConfigFile);
        Assert.Equal("[1, 2, 3]", rendered.Payload);
        Assert.Equal(2, rendered.Retries);
        Assert.Equal("{{ ds }}", rendered.TaskId);

        Assert.Equal("{{ ds }}", op.Arguments![0]);
        Assert.Equal("{{ name }}-{{ n }}", op.EnvVars!["MY_VALUE"]);
        Assert.Equal("{{ ds }}", op.Env![0].Value);
        Assert.Equal("{{ n }}Gi", op.ContainerResources!.Limits!["memory"]);
    }

    [Fact]
    public void Native_objects_fill_object_slots_with_values_and_string_slots_with_text()
    {
        var renderer = new TemplateFieldRenderer(new TemplateEngine(), new TemplateFieldOptions { NativeObjects = true });
        var rendered = renderer.RenderFields(Operator(), ["Payload", "Arguments"], Context());
        Assert.Equal(new List<object?> { 1L, 2L, 3L }, Assert.IsType<List<object?>>(rendered.Payload));
        Assert.Equal("6", rendered.Arguments![2]);
        var dict = renderer.RenderValue(new Dictionary<string, object?> { ["k"] = "{{ n + 1 }}" }, Context(), "params");
        Assert.Equal(4L, Assert.IsType<Dictionary<string, object?>>(dict)["k"]);
    }

    [Fact]
    public void Errors_name_the_field_path_and_position()
    {
        var op = Operator();
        op.EnvVars!["BROKEN"] = "ok\n  {{ missing }}";
        var e = Assert.Throws<TemplateException>(() => new TemplateFieldRenderer(new TemplateEngine()).RenderFields(op, ["EnvVars"], Context()));
        Assert.Equal("EnvVars[BROKEN]", e.Field);
        Assert.Equal("'missing' is undefined", e.Reason);
        Assert.Equal(2, e.Line);
        Assert.Equal(6, e.Column);
        Assert.Equal("ok\n  {{ missing }}", e.TemplateText);
    }

    [Fact]
    public void Dictionaries_keep_their_key_comparer()
    {
        var op = Operator();
        op.EnvVars = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Key"] = "{{ n }}" };
        var rendered = new TemplateFieldRenderer(new TemplateEngine()).RenderFields(op, ["EnvVars"], Context());
        Assert.Equal("3", rendered.EnvVars!["KEY"]);
    }

    [Fact]
    public void Unknown_field_name_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new TemplateFieldRenderer(new TemplateEngine()).RenderFields(Operator(), ["Nope"], Context()));
    }

    [Fact]
    public void Strings_ending_in_a_template_extension_load_the_file_relative_to_the_search_path()
    {
        var dir = Directory.CreateTempSubdirectory("sirocco-tpl-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "scripts"));
            File.WriteAllText(Path.Combine(dir.FullName, "scripts", "run.sh"), "#!/bin/sh\necho {{ ds }} {{ n }}\n");
            File.WriteAllText(Path.Combine(dir.FullName, "bad.sh"), "{% if %}");
            var renderer = new TemplateFieldRenderer(new TemplateEngine(), new TemplateFieldOptions
            {
                SearchPath = dir.FullName,
                TemplateExtensions = [".sh", ".json"],
            });
            Assert.Equal("#!/bin/sh\necho 2024-03-15 3", renderer.RenderString("scripts/run.sh", Context(), "bash_command"));
            Assert.Equal("run.sh is not a file: {{ x }}".Replace("{{ x }}", "3", StringComparison.Ordinal), renderer.RenderString("run.sh is not a file: {{ n }}", Context(), "f"));

            var missing = Assert.Throws<TemplateException>(() => renderer.RenderString("nope.sh", Context(), "bash_command"));
            Assert.Contains("TemplateNotFound: nope.sh", missing.Reason, StringComparison.Ordinal);
            Assert.Throws<TemplateException>(() => renderer.RenderString("../outside.sh", Context(), "f"));
            Assert.Throws<TemplateException>(() => renderer.RenderString("/etc/passwd.sh", Context(), "f"));

            var syntax = Assert.Throws<TemplateException>(() => renderer.RenderString("bad.sh", Context(), "cmd"));
            Assert.True(syntax.IsSyntaxError);
            Assert.Equal("cmd (bad.sh)", syntax.Field);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Include_reads_files_under_the_search_path_only_and_locates_errors_in_them()
    {
        var dir = Directory.CreateTempSubdirectory("sirocco-tpl-inc-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "part.sql"), "day={{ ds }}");
            File.WriteAllText(Path.Combine(dir.FullName, "bad.sql"), "line1\n  {{ nope }}");
            File.WriteAllText(Path.Combine(dir.FullName, "loop.sql"), "{% include 'loop.sql' %}");
            File.WriteAllText(Path.Combine(dir.FullName, "syntax.sql"), "{% if %}");
            var renderer = new TemplateFieldRenderer(new TemplateEngine(), new TemplateFieldOptions { SearchPath = dir.FullName, TemplateExtensions = [".sql"] });

            Assert.Equal("SELECT day=2024-03-15", renderer.RenderString("SELECT {% include 'part.sql' %}", Context(), "sql"));

            var e = Assert.Throws<TemplateException>(() => renderer.RenderString("x {% include 'bad.sql' %}", Context(), "sql"));
            Assert.Equal("'nope' is undefined", e.Reason);
            Assert.Equal("sql (include 'bad.sql')", e.Field);
            Assert.Equal("line1\n  {{ nope }}", e.TemplateText);
            Assert.Equal((2, 6), (e.Line, e.Column));

            Assert.Contains("nested more than", Assert.Throws<TemplateException>(() => renderer.RenderString("loop.sql", Context(), "sql")).Reason, StringComparison.Ordinal);
            Assert.True(Assert.Throws<TemplateException>(() => renderer.RenderString("{% include 'syntax.sql' %}", Context(), "sql")).IsSyntaxError);
            Assert.Equal("../part.sql", Assert.Throws<TemplateException>(() => renderer.RenderString("{% include '../part.sql' %}", Context(), "sql")).Reason);
            Assert.Equal("/etc/hostname", Assert.Throws<TemplateException>(() => renderer.RenderString("{% include '/etc/hostname' %}", Context(), "sql")).Reason);
            Assert.Equal("part.sql", Assert.Throws<TemplateException>(() => new TemplateEngine().Render("{% include 'part.sql' %}", Context())).Reason);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Template_files_are_refused_without_a_search_path()
    {
        var renderer = new TemplateFieldRenderer(new TemplateEngine(), new TemplateFieldOptions { TemplateExtensions = [".yaml"] });
        Assert.Throws<TemplateException>(() => renderer.RenderString("pod.yaml", Context(), "pod_template_file"));
    }

    [Fact]
    public void Cyclic_object_graphs_terminate()
    {
        var a = new Node { Text = "{{ n }}" };
        a.Next = a;
        var rendered = (Node)new TemplateFieldRenderer(new TemplateEngine()).RenderValue(a, Context(), "x")!;
        Assert.Equal("3", rendered.Text);
    }

    public sealed class Node
    {
        public string? Text { get; set; }

        public Node? Next { get; set; }
    }
}
