using System.Diagnostics;
using Sirocco.DagFiles;
using Sirocco.Storage;

namespace Sirocco.Cli.Tests;

/// <summary>
/// DAG files run first in DAG-processor children (real <c>sirocco dag-processor-child</c> processes): a file that loops,
/// overflows the stack, ends the process or allocates without bound becomes an import error naming the file and the
/// cause; the child is replaced; the host and every other DAG keep working.
/// </summary>
public sealed class DagProcessorTests : IDisposable
{
    private const string Good = """
        var dag = new Dag("good_cs") { Schedule = null };
        dag.Tasks.Add(new EmptyOperator("a"));
        return dag;
        """;

    // Prints what looks like a reply, through Console.Out and through a program writing to descriptor 1.
    private const string Printer = """
        Console.WriteLine("{\"id\":1,\"dags\":[],\"errors\":[]}");
        Console.Out.Flush();
        System.Diagnostics.Process.Start("/bin/sh", ["-c", "echo '{\"id\":2,\"dags\":[],\"errors\":[]}'; printf 'no end of line'"])!.WaitForExit();
        var dag = new Dag("printer_cs") { Schedule = null };
        dag.Tasks.Add(new EmptyOperator("b"));
        return dag;
        """;

    private const string GoodPy = """
        import datetime
        from airflow import DAG
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        with DAG("good_py", start_date=datetime.datetime(2024, 1, 1), schedule=None) as dag:
            KubernetesPodOperator(task_id="p", name="p", image="busybox", cmds=["echo", "hi"])
        """;

    private readonly string _home = Directory.CreateTempSubdirectory("sirocco-dagproc-").FullName;
    private readonly StringWriter _printed = new();

    private string Dags => Path.Combine(_home, "dags");

    public DagProcessorTests() => Directory.CreateDirectory(Dags);

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Files_that_loop_overflow_exit_or_exhaust_memory_become_import_errors_and_the_rest_load()
    {
        var marker = Path.Combine(_home, "ran-in.txt");
        Write("good.cs", Good);
        Write("printer.cs", Printer);
        Write("good.py", GoodPy);
        Write("loop.cs", $$"""System.IO.File.AppendAllText(@"{{marker}}", Environment.ProcessId + "\n"); while (true) { } """);
        Write("overflow.cs", "int Deeper(int n) => Deeper(n + 1) + 1; Deeper(0); return null;");
        Write("exit.cs", "Environment.Exit(3); return null;");
        Write("alloc.cs", "var keep = new List<byte[]>(); while (true) { var b = new byte[1 << 20]; b[0] = 1; keep.Add(b); }");

        using var bag = new DagBag(Options(TimeSpan.FromSeconds(3)));
        var result = await bag.CollectAsync();

        Assert.Equal(["good_cs", "good_py", "printer_cs"], result.Dags.Keys);
        var errors = result.ImportErrors.ToDictionary(e => Path.GetFileName(e.FileName), e => e.Message);
        Assert.Equal(["alloc.cs", "exit.cs", "loop.cs", "overflow.cs"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("timed out after 3 s", errors["loop.cs"], StringComparison.Ordinal);
        Assert.Contains("Stack overflow", errors["overflow.cs"], StringComparison.Ordinal);
        Assert.Contains("exit code 3", errors["exit.cs"], StringComparison.Ordinal);
        Assert.True(
            errors["alloc.cs"].Contains("used more than its memory limit of 768 MiB", StringComparison.Ordinal)
            || errors["alloc.cs"].Contains("OutOfMemoryException", StringComparison.Ordinal), // the runtime's heap limit came first
            errors["alloc.cs"]);
        foreach (var (file, message) in errors)
        {
            Assert.Contains(Path.Combine(Dags, file), message, StringComparison.Ordinal);
        }

        // What the printer printed reached the host's output, not the reply channel.
        Assert.Contains("no end of line", _printed.ToString(), StringComparison.Ordinal);
        Assert.Contains("Stack overflow", _printed.ToString(), StringComparison.Ordinal);

        // The looping file ran in a child, never in this process.
        var ranIn = File.ReadAllLines(marker);
        Assert.Single(ranIn);
        Assert.NotEqual(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), ranIn[0]);
        Assert.DoesNotContain(ranIn[0], ChildrenOfThisProcess().Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        // Fixed files load on the next collection, through fresh children; unchanged files are not sent again.
        Write("exit.cs", Good.Replace("good_cs", "was_exit", StringComparison.Ordinal));
        Write("loop.cs", Good.Replace("good_cs", "was_loop", StringComparison.Ordinal));
        var again = await bag.CollectAsync();
        Assert.Equal(["good_cs", "good_py", "printer_cs", "was_exit", "was_loop"], again.Dags.Keys);
        Assert.Equal(2, again.Stats.FilesParsed);
        Assert.NotEmpty(ChildrenOfThisProcess());

        bag.Dispose();
        Assert.Empty(ChildrenOfThisProcess());
    }

    [Fact]
    public async Task Errors_keep_their_position_and_loaded_dags_are_live_objects_of_this_process()
    {
        Write("good.cs", Good);
        Write("broken.cs", "var dag = new Dag(\"broken\") { Schedule = null }; dag.Nope(); return dag;");

        using var bag = new DagBag(Options(TimeSpan.FromSeconds(30)));
        var result = await bag.CollectAsync();

        Assert.Equal(["good_cs"], result.Dags.Keys);
        Assert.Equal(2, result.Stats.Compiled);
        var broken = Assert.Single(result.ImportErrors);
        Assert.Contains("broken.cs(1,", broken.Message, StringComparison.Ordinal);
        Assert.Equal(1, broken.Line); // positions cross the boundary
        Assert.Same(result.Dags["good_cs"], result.Dags["good_cs"].Tasks[0].Dag); // a live DAG, built in this process
    }

    [Fact]
    public async Task A_scheduler_survives_a_dag_file_that_ends_its_process_and_records_the_import_error()
    {
        Write("good.cs", Good);
        Write("exit.cs", "Environment.Exit(7); return null;");
        var (code, output) = await SiroccoProcess.RunAsync(_home, null, "db", "migrate");
        Assert.True(code == 0, output);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var scheduler = SchedulerProcess.Start(_home, new Dictionary<string, string>(), lines.Enqueue);
        await using var store = MetadataStore.OpenSqlite(Path.Combine(_home, "sirocco.db"));
        try
        {
            await SchedulerProcess.WaitForAsync(
                async () => (await store.ListImportErrorsAsync()).Count == 1
                    && (await store.GetDagAsync("good_cs")) is not null,
                TimeSpan.FromSeconds(90));
            var error = Assert.Single(await store.ListImportErrorsAsync());
            Assert.EndsWith("exit.cs", error.FileName, StringComparison.Ordinal);
            Assert.Contains("exit code 7", error.Message, StringComparison.Ordinal);
            Assert.False(scheduler.HasExited, string.Join('\n', lines));

            // The child compiled both files into the shared cache; the scheduler loaded good.cs from it, compiling nothing.
            Assert.Equal(2, Directory.GetFiles(Path.Combine(_home, "cache", "dags"), "*.dll").Length);

            // Fixing the file brings its DAG in, with the scheduler still the same process.
            Write("exit.cs", Good.Replace("good_cs", "fixed_cs", StringComparison.Ordinal));
            await SchedulerProcess.WaitForAsync(async () => (await store.GetDagAsync("fixed_cs")) is not null, TimeSpan.FromSeconds(60));
            Assert.Empty(await store.ListImportErrorsAsync());
            Assert.False(scheduler.HasExited);
        }
        finally
        {
            scheduler.Kill(entireProcessTree: true);
            await scheduler.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Idle_children_end_and_a_new_one_takes_the_next_change()
    {
        Write("good.cs", Good);
        using var bag = new DagBag(Options(TimeSpan.FromSeconds(30), idleTimeout: TimeSpan.FromSeconds(1)));
        Assert.Equal(["good_cs"], (await bag.CollectAsync()).Dags.Keys);
        Assert.Single(ChildrenOfThisProcess());

        await SchedulerProcess.WaitForAsync(() => Task.FromResult(ChildrenOfThisProcess().Count == 0), TimeSpan.FromSeconds(20));

        Write("good.cs", Good.Replace("good_cs", "good_again", StringComparison.Ordinal));
        Assert.Equal(["good_again"], (await bag.CollectAsync()).Dags.Keys);
        Assert.Single(ChildrenOfThisProcess());
    }

    [Fact]
    public async Task A_file_that_builds_other_dags_in_the_host_keeps_only_the_common_ones_and_is_read_again()
    {
        Write("moody.cs", """
            var inChild = Environment.GetCommandLineArgs().Any(a => a.Contains("dag-processor-child"));
            var both = new Dag("both") { Schedule = null };
            both.Tasks.Add(new EmptyOperator("a"));
            var only = new Dag(inChild ? "child_only" : "host_only") { Schedule = null };
            only.Tasks.Add(new EmptyOperator("b"));
            return new[] { both, only };
            """);
        using var bag = new DagBag(Options(TimeSpan.FromSeconds(30)));

        var first = await bag.CollectAsync();
        Assert.Equal(["both"], first.Dags.Keys);
        var error = Assert.Single(first.ImportErrors).Message;
        Assert.Contains("built DAGs [both, child_only] in the DAG processor but [both, host_only] when loaded", error, StringComparison.Ordinal);

        var second = await bag.CollectAsync();
        Assert.Equal(1, second.Stats.FilesParsed); // read again, though unchanged
        Assert.Equal(["both"], second.Dags.Keys);
    }

    [Fact]
    public async Task A_program_a_file_leaves_running_holds_neither_requests_nor_replies()
    {
        // One parser, so the three files go to the same child in order.
        var pidFile = Path.Combine(_home, "background.pid");
        Write("a_background.cs", $$"""
            System.Diagnostics.Process.Start("/bin/sh", ["-c", "(cat > /dev/null; exec sleep 30) & echo $! >> {{pidFile}}"])!.WaitForExit();
            var dag = new Dag("background") { Schedule = null };
            dag.Tasks.Add(new EmptyOperator("a"));
            return dag;
            """);
        Write("b_exit.cs", "Environment.Exit(4); return null;");
        Write("c_good.cs", Good);
        using var bag = new DagBag(Options(TimeSpan.FromSeconds(30), parallelism: 1));

        var watch = Stopwatch.StartNew();
        DagBagResult result;
        try
        {
            result = await bag.CollectAsync();
        }
        finally
        {
            // One program from the child's run of the file, one from this process's.
            foreach (var line in File.Exists(pidFile) ? File.ReadAllLines(pidFile) : [])
            {
                try
                {
                    Process.GetProcessById(int.Parse(line, System.Globalization.CultureInfo.InvariantCulture)).Kill();
                }
                catch (ArgumentException)
                {
                    // Already gone.
                }
            }
        }

        Assert.Equal(["background", "good_cs"], result.Dags.Keys);
        var error = Assert.Single(result.ImportErrors);
        Assert.Contains("b_exit.cs: the DAG processor ended while running this file: exit code 4", error.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(25), $"the crash was seen only after {watch.Elapsed}");
    }

    [Fact]
    public async Task A_processor_that_cannot_start_is_not_the_files_fault_and_the_file_is_tried_again()
    {
        Write("good.cs", Good);
        using var bag = new DagBag(Options(TimeSpan.FromSeconds(30), processor: new DagProcessorOptions { FileName = Path.Combine(_home, "no-such-program") }));

        var first = await bag.CollectAsync();
        var error = Assert.Single(first.ImportErrors);
        Assert.Contains("good.cs: not parsed: could not start the DAG processor", error.Message, StringComparison.Ordinal);
        var second = await bag.CollectAsync();
        Assert.Equal(1, second.Stats.FilesParsed); // not remembered as the file's result
        Assert.Single(second.ImportErrors);
    }

    [Fact]
    public async Task The_cli_reports_a_file_that_ends_the_process_instead_of_ending()
    {
        Write("good.cs", Good);
        Write("exit.cs", "Environment.Exit(5); return null;");

        var (code, output) = await SiroccoProcess.RunAsync(_home, null, "dags", "list-import-errors", "-o", "json");
        Assert.True(code == 0, output);
        Assert.Contains("exit.cs", output, StringComparison.Ordinal);
        Assert.Contains("exit code 5", output, StringComparison.Ordinal);

        (code, output) = await SiroccoProcess.RunAsync(_home, null, "dags", "list", "-o", "json");
        Assert.True(code == 0, output);
        Assert.Contains("good_cs", output, StringComparison.Ordinal);

        // Airflow's dags report: each file's parse time and counts, slowest first.
        (code, output) = await SiroccoProcess.RunAsync(_home, null, "dags", "report", "-o", "json");
        Assert.True(code == 0, output);
        var rows = System.Text.Json.Nodes.JsonNode.Parse(output[..(output.LastIndexOf(']') + 1)])!.AsArray();
        Assert.Equal(2, rows.Count);
        var good = rows.Single(r => (string?)r!["file"] == "/good.cs")!;
        Assert.Equal("1", (string?)good["dag_num"]);
        Assert.Equal("1", (string?)good["task_num"]);
        Assert.Equal("good_cs", (string?)good["dags"]);
        Assert.Equal("0", (string?)rows.Single(r => (string?)r!["file"] == "/exit.cs")!["dag_num"]);
        Assert.Matches(@"^0:00:\d\d\.\d{6}$", (string?)good["duration"]);
        Assert.Contains("1 DAG file(s) failed to load", output, StringComparison.Ordinal);
    }

    /// <summary>The DAG-processor children this test process started and that still run.</summary>
    private static List<int> ChildrenOfThisProcess()
    {
        var children = new List<int>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(folder), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var cmdline = File.ReadAllText(Path.Combine(folder, "cmdline"));
                if (fields[1] == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) && fields[0] != "Z"
                    && cmdline.Contains("dag-processor-child", StringComparison.Ordinal))
                {
                    children.Add(pid);
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
        }

        return children;
    }

    private DagBagOptions Options(TimeSpan timeout, TimeSpan? idleTimeout = null, int parallelism = 2, DagProcessorOptions? processor = null) => new()
    {
        DagsFolder = Dags,
        CacheFolder = Path.Combine(_home, "cache", "dags"),
        ParseTimeout = timeout,
        Watch = false,
        MaxParallelism = parallelism,
        AdditionalParsers = [new DagFiles.Airflow.AirflowDagFileParser(new DagFiles.Airflow.AirflowDagFileParserOptions())],
        Processor = processor ?? new DagProcessorOptions
        {
            FileName = "dotnet",
            Arguments = [Path.Combine(AppContext.BaseDirectory, "sirocco.dll"), "dag-processor-child"],
            Environment = new Dictionary<string, string> { ["SIROCCO_HOME"] = _home },
            MemoryLimitMegabytes = 768,
            IdleTimeout = idleTimeout ?? TimeSpan.FromMinutes(1),
            Output = TextWriter.Synchronized(_printed),
        },
    };

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(Dags, name), text);
}
