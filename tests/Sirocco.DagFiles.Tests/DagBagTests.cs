using Sirocco.Scheduling;

namespace Sirocco.DagFiles.Tests;

public sealed class DagBagTests
{
    private const string SimpleDag = """
        var a = new EmptyOperator("a");
        var b = new EmptyOperator("b");
        var dag = new Dag("simple") { Schedule = "@daily", Tasks = { a, b } };
        _ = a >> b;
        return dag;
        """;

    private static string DagWithId(string dagId) => $"return new Dag(\"{dagId}\") {{ new EmptyOperator(\"t\") }};";

    [Fact]
    public async Task Example_noop_loads_with_its_tasks_dependencies_and_schedule()
    {
        using var folder = new DagFolder();
        var path = Path.Combine(folder.Dags, "example_noop.cs");
        File.Copy(Path.Combine(DagFolder.RepositoryRoot, "examples", "dags", "example_noop.cs"), path);
        using var bag = folder.CreateBag();

        var result = await bag.CollectAsync();

        Assert.Empty(result.ImportErrors);
        var dag = Assert.Single(result.Dags).Value;
        Assert.Same(typeof(Dag), dag.GetType());
        Assert.Equal("example_noop", dag.DagId);
        Assert.Equal(path, dag.FileLoc);
        Assert.Equal(["start", "extract", "transform", "load", "end"], dag.Tasks.Select(t => t.TaskId));
        Assert.Equal(["extract"], dag.GetTask("start").DownstreamTaskIds);
        Assert.Equal(["load"], dag.GetTask("end").UpstreamTaskIds);
        Assert.Equal(2, dag.GetTask("extract").Retries);
        Assert.Equal(TriggerRule.AllDone, dag.GetTask("end").TriggerRule);
        Assert.Equal(Schedule.Every(TimeSpan.FromDays(1)).Description, dag.Schedule.Description);
        Assert.False(dag.Catchup);
        var start = dag.StartDate!.Value;
        Assert.Equal(TimeSpan.Zero, start.Offset);
        Assert.Equal(TimeSpan.Zero, start.TimeOfDay);
        Assert.Equal(DateTime.UtcNow.Date.AddDays(-1), start.UtcDateTime.Date);
        Assert.Equal([path], result.Files);
    }

    [Fact]
    public async Task A_file_returns_several_dags_as_an_array_or_a_lazy_sequence()
    {
        using var folder = new DagFolder();
        folder.Write("array.cs", """
            var d1 = new Dag("one") { new EmptyOperator("t") };
            var d2 = new Dag("two") { Schedule = Schedule.None };
            return new[] { d1, d2 };
            """);
        folder.Write("lazy.cs", """
            IEnumerable<Dag> Make()
            {
                foreach (var i in Enumerable.Range(1, 3))
                {
                    yield return new Dag($"lazy_{i}") { new EmptyOperator("t") };
                }
            }

            return Make();
            """);
        folder.Write("helpers.cs", "static int Twice(int x) => 2 * x;");
        folder.Write(".hidden/skipped.cs", "this is not C#");
        folder.Write("notes.txt", "not a DAG file");
        using var bag = folder.CreateBag();

        var result = await bag.CollectAsync();

        Assert.Empty(result.ImportErrors);
        Assert.Equal(["lazy_1", "lazy_2", "lazy_3", "one", "two"], result.Dags.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(3, result.Files.Count);
        Assert.Equal("None", result.Dags["two"].Schedule.Description);
    }

    [Fact]
    public async Task A_compile_error_reports_file_line_column_and_message()
    {
        using var folder = new DagFolder();
        var path = folder.Write("broken.cs", """
            var dag = new Dag("broken");
            // the next line uses an unknown name
            dag.Add(new EmptyOperatr("t"));
            return dag;
            """);
        using var bag = folder.CreateBag();

        var result = await bag.CollectAsync();

        Assert.Empty(result.Dags);
        var error = Assert.Single(result.ImportErrors);
        Assert.Equal(path, error.FileName);
        Assert.Equal(3, error.Line);
        Assert.Equal(13, error.Column);
        Assert.StartsWith($"{path}(3,13): error CS0246: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("EmptyOperatr", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_first_compile_errors_are_listed()
    {
        using var folder = new DagFolder();
        var path = folder.Write("many.cs", string.Join('\n', Enumerable.Range(1, 8).Select(i => $"var x{i} = unknown{i};")) + "\nreturn null;");
        using var bag = new DagBag(new DagBagOptions { DagsFolder = folder.Dags, Watch = false, MaxCompileErrorsPerFile = 3 });

        var error = Assert.Single((await bag.CollectAsync()).ImportErrors);

        var lines = error.Message.Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.StartsWith($"{path}(1,10): error CS0103: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"{path}(3,10): error CS0103: ", lines[2], StringComparison.Ordinal);
        Assert.Equal("... and 5 more errors", lines[3]);
    }

    [Fact]
    public async Task Top_level_await_works_and_an_awaited_hang_times_out_too()
    {
        using var folder = new DagFolder();
        folder.Write("awaits.cs", """
            await Task.Yield();
            return new Dag("awaited") { new EmptyOperator("t") };
            """);
        var hang = folder.Write("awaits_forever.cs", """
            await Task.Delay(System.Threading.Timeout.Infinite);
            return new Dag("never");
            """);
        // The limit leaves room for the first run of a freshly compiled script on a busy machine (JIT, type loading).
        using var bag = folder.CreateBag(timeout: TimeSpan.FromSeconds(3), diskCache: false);

        var result = await bag.CollectAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.Dags.ContainsKey("awaited"), string.Join("\n", result.ImportErrors.Select(e => e.Message)));
        Assert.Equal($"DAG file {hang} timed out after 3 s", Assert.Single(result.ImportErrors).Message);
    }

    [Fact]
    public async Task A_runtime_exception_reports_the_message_and_the_script_line()
    {
        using var folder = new DagFolder();
        var path = folder.Write("throws.cs", """
            var dag = new Dag("throws");
            dag.Add(new EmptyOperator("t"));

            dag.Add(new EmptyOperator("t"));
            return dag;
            """);
        using var bag = folder.CreateBag();

        var result = await bag.CollectAsync();

        Assert.Empty(result.Dags);
        var error = Assert.Single(result.ImportErrors);
        Assert.Equal(4, error.Line);
        Assert.Equal($"{path}(4): Sirocco.SiroccoException: Task id 't' has already been added to the DAG throws", error.Message);
    }

    [Fact]
    public async Task A_file_returning_something_else_is_an_import_error()
    {
        using var folder = new DagFolder();
        var path = folder.Write("wrong.cs", "return 42;");
        using var bag = folder.CreateBag();

        var result = await bag.CollectAsync();

        Assert.Empty(result.Dags);
        var error = Assert.Single(result.ImportErrors);
        Assert.Equal($"{path}: returned System.Int32; a DAG file must return a Dag or an IEnumerable<Dag>", error.Message);
    }

    [Fact]
    public async Task A_cycle_is_an_import_error_and_the_files_other_dags_still_load()
    {
        using var folder = new DagFolder();
        var path = folder.Write("cycle.cs", """
            var a = new EmptyOperator("a");
            var b = new EmptyOperator("b");
            var cyclic = new Dag("cyclic") { a, b };
            _ = a >> b >> a;
            return new[] { cyclic, new Dag("fine") { new EmptyOperator("t") } };
            """);
        using var bag = folder.CreateBag();

        var result = await bag.CollectAsync();

        Assert.Equal(["fine"], result.Dags.Keys);
        var error = Assert.Single(result.ImportErrors);
        Assert.Equal(path, error.FileName);
        Assert.Contains("Cycle detected in DAG cyclic: a >> b >> a", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_dag_id_in_two_files_is_an_error_naming_both_and_the_first_file_keeps_it()
    {
        using var folder = new DagFolder();
        var first = folder.Write("a.cs", DagWithId("dup"));
        var second = folder.Write("b.cs", "return new[] { new Dag(\"dup\"), new Dag(\"other\") };");
        using var bag = folder.CreateBag();

        var result = await bag.CollectAsync();

        Assert.Equal(first, result.Dags["dup"].FileLoc);
        Assert.Equal(["other"], result.FileStats[1].DagIds);
        Assert.Equal(0, result.FileStats[1].TaskCount);
        Assert.Equal(1, result.FileStats[0].TaskCount);
        Assert.True(result.FileStats[1].HasErrors);
        Assert.Equal(second, result.Dags["other"].FileLoc);
        var error = Assert.Single(result.ImportErrors);
        Assert.Equal(second, error.FileName);
        Assert.Contains(first, error.Message, StringComparison.Ordinal);
        Assert.Contains(second, error.Message, StringComparison.Ordinal);
        Assert.Contains("'dup'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broken_file_beside_a_good_one_leaves_the_good_one_loading()
    {
        using var folder = new DagFolder();
        folder.Write("good.cs", SimpleDag);
        var broken = folder.Write("zz_broken.cs", "return new Dag(\"x\") {");
        folder.Write("sub/throws.cs", "throw new InvalidOperationException(\"no\");");
        using var bag = folder.CreateBag();

        var result = await bag.CollectAsync();

        var dag = Assert.Single(result.Dags).Value;
        Assert.Equal(["b"], dag.GetTask("a").DownstreamTaskIds);
        Assert.Equal("@daily", dag.Schedule.Description);
        Assert.Equal(2, result.ImportErrors.Count);
        Assert.Contains(result.ImportErrors, e => e.FileName == broken && e.Message.Contains("error CS", StringComparison.Ordinal));
        Assert.Contains(result.ImportErrors, e => e.Message.Contains("System.InvalidOperationException: no", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_hanging_file_times_out_and_the_others_load()
    {
        using var folder = new DagFolder();
        var hang = folder.Write("hang.cs", """
            new System.Threading.ManualResetEventSlim().Wait();
            return new Dag("never");
            """);
        folder.Write("good.cs", SimpleDag);
        using var bag = folder.CreateBag(timeout: TimeSpan.FromSeconds(3));

        var result = await bag.CollectAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["simple"], result.Dags.Keys);
        var error = Assert.Single(result.ImportErrors);
        Assert.Equal($"DAG file {hang} timed out after 3 s", error.Message);

        // Unchanged, it is not run again (no second hung thread), and its error stays.
        var again = await bag.CollectAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(2, again.Stats.FilesUnchanged);
        Assert.Single(again.ImportErrors);
    }

    [Fact]
    public async Task Disposing_the_bag_during_a_collection_lets_it_finish_and_later_calls_fail_clearly()
    {
        using var folder = new DagFolder();
        folder.Write("slow.cs", """
            new System.Threading.ManualResetEventSlim().Wait();
            return new Dag("never");
            """);
        var bag = folder.CreateBag(timeout: TimeSpan.FromMilliseconds(500), watch: true);

        var collecting = bag.CollectAsync();
        bag.Dispose();
        var result = await collecting.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains("timed out", Assert.Single(result.ImportErrors).Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => bag.CollectAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => bag.WaitForChangeAsync(CancellationToken.None));
    }

    [Fact]
    public async Task An_unchanged_file_is_not_compiled_again_in_memory_or_in_a_new_bag_over_the_same_cache()
    {
        using var folder = new DagFolder();
        var path = folder.Write("big.cs", BigDag(150));

        TimeSpan coldDuration;
        using (var bag = folder.CreateBag())
        {
            var cold = await bag.CollectAsync();
            Assert.Empty(cold.ImportErrors);
            Assert.Equal(150, cold.Dags["big"].Tasks.Count);
            Assert.Equal(1, cold.Stats.Compiled);
            Assert.True(cold.Stats.CompileDuration > TimeSpan.Zero);
            coldDuration = cold.FileStats[0].Duration;
            Assert.True(File.Exists(Directory.GetFiles(folder.Cache, "*.dll").Single()));

            var second = await bag.CollectAsync();
            Assert.Equal(1, second.Stats.FilesUnchanged);
            Assert.Equal(0, second.Stats.FilesParsed);
            Assert.Same(cold.Dags["big"], second.Dags["big"]);

            // Touched without a change: still not parsed.
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
            var touched = await bag.CollectAsync();
            Assert.Equal(1, touched.Stats.FilesUnchanged);

            // A full rescan runs the file again from the in-memory compiled form.
            var rescan = await bag.RescanAsync();
            Assert.Equal(1, rescan.Stats.MemoryCacheHits);
            Assert.Equal(0, rescan.Stats.Compiled);
            Assert.NotSame(cold.Dags["big"], rescan.Dags["big"]);
        }

        using var next = folder.CreateBag();
        var warm = await next.CollectAsync();
        Assert.Empty(warm.ImportErrors);
        Assert.Equal(1, warm.Stats.DiskCacheHits);
        Assert.Equal(0, warm.Stats.Compiled);
        Assert.Equal(TimeSpan.Zero, warm.Stats.CompileDuration);
        Assert.Equal(DagFileOrigin.DiskCache, warm.FileStats[0].Origin);
        Assert.Equal(150, warm.Dags["big"].Tasks.Count);
        Assert.True(
            warm.FileStats[0].Duration < coldDuration,
            $"disk cache load {warm.FileStats[0].Duration.TotalMilliseconds} ms vs compile {coldDuration.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task A_compile_error_is_cached_on_disk_too()
    {
        using var folder = new DagFolder();
        folder.Write("broken.cs", "return new Dag(\"x\") {");
        using (var bag = folder.CreateBag())
        {
            Assert.Equal(1, (await bag.CollectAsync()).Stats.Compiled);
        }

        using var next = folder.CreateBag();
        var result = await next.CollectAsync();
        Assert.Equal(1, result.Stats.DiskCacheHits);
        Assert.Equal(0, result.Stats.Compiled);
        Assert.Contains("error CS", Assert.Single(result.ImportErrors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stale_disk_cache_entries_are_pruned_and_used_ones_kept()
    {
        using var folder = new DagFolder();
        folder.Write("kept.cs", DagWithId("kept"));
        using (var bag = folder.CreateBag())
        {
            await bag.CollectAsync();
        }

        var month = DateTime.UtcNow.AddDays(-30);
        var used = Directory.GetFiles(folder.Cache, "*.dll").Single();
        File.SetLastWriteTimeUtc(used, month);
        var stale = Path.Combine(folder.Cache, new string('0', 64) + ".dll");
        File.WriteAllBytes(stale, [1, 2, 3]);
        File.SetLastWriteTimeUtc(stale, month);
        var recent = Path.Combine(folder.Cache, new string('1', 64) + ".dll");
        File.WriteAllBytes(recent, [1, 2, 3]);
        var foreign = Path.Combine(folder.Cache, "notes.txt");
        File.WriteAllBytes(foreign, [1, 2, 3]);
        File.SetLastWriteTimeUtc(foreign, month);

        using var next = folder.CreateBag();
        Assert.Equal(1, (await next.CollectAsync()).Stats.DiskCacheHits);

        Assert.True(File.Exists(used));
        Assert.True(File.GetLastWriteTimeUtc(used) > month.AddDays(29));
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(recent));
        Assert.True(File.Exists(foreign));
    }

    [Fact]
    public async Task A_changed_file_is_compiled_again_and_a_deleted_files_dags_disappear()
    {
        using var folder = new DagFolder();
        var path = folder.Write("changing.cs", DagWithId("before"));
        folder.Write("stays.cs", DagWithId("stays"));
        using var bag = folder.CreateBag(diskCache: false);
        Assert.Equal(["before", "stays"], (await bag.CollectAsync()).Dags.Keys);

        File.WriteAllText(path, DagWithId("after"));
        var changed = await bag.CollectAsync();
        Assert.Equal(["after", "stays"], changed.Dags.Keys);
        Assert.Equal(1, changed.Stats.Compiled);
        Assert.Equal(1, changed.Stats.FilesUnchanged);

        File.Delete(path);
        var deleted = await bag.CollectAsync();
        Assert.Equal(["stays"], deleted.Dags.Keys);
        Assert.Single(deleted.Files);
        Assert.Empty(deleted.ImportErrors);

        // Back with its first content: served from memory only if still cached; either way it loads.
        File.WriteAllText(path, DagWithId("before"));
        Assert.Equal(["before", "stays"], (await bag.CollectAsync()).Dags.Keys);
    }

    [Fact]
    public async Task The_assembly_of_a_replaced_file_version_is_unloaded()
    {
        using var folder = new DagFolder();
        var path = folder.Write("versioned.cs", DagWithId("v1") + " // unload test");
        using var bag = folder.CreateBag(diskCache: false);
        Assert.Equal(["v1"], (await bag.CollectAsync()).Dags.Keys);
        var context = WeakContextOf(File.ReadAllText(path));

        File.WriteAllText(path, DagWithId("v2"));
        Assert.Equal(["v2"], (await bag.CollectAsync()).Dags.Keys);

        for (var i = 0; context.IsAlive && i < 20; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(context.IsAlive);
    }

    [Fact]
    public async Task With_KeepLastGoodDags_a_file_that_breaks_keeps_its_last_good_dags_beside_the_error()
    {
        using var folder = new DagFolder();
        var path = folder.Write("breaks.cs", DagWithId("good_version"));
        using var bag = new DagBag(new DagBagOptions { DagsFolder = folder.Dags, Watch = false, KeepLastGoodDags = true });
        var good = (await bag.CollectAsync()).Dags["good_version"];

        File.WriteAllText(path, "return new Dag(\"broken_version\") {");
        var broken = await bag.CollectAsync();

        Assert.Same(good, broken.Dags["good_version"]);
        Assert.Equal(path, Assert.Single(broken.ImportErrors).FileName);

        File.Delete(path);
        Assert.Empty((await bag.CollectAsync()).Dags);
    }

    [Fact]
    public async Task Two_files_with_the_same_text_share_one_compilation()
    {
        using var folder = new DagFolder();
        const string Text = "return new Dag(System.IO.Path.GetFileNameWithoutExtension(\"x\") + \"_\" + Guid.NewGuid().ToString(\"N\"));";
        folder.Write("one.cs", Text);
        folder.Write("two.cs", Text);
        using var bag = folder.CreateBag(diskCache: false);

        var result = await bag.CollectAsync();

        Assert.Equal(2, result.Dags.Count);
        Assert.Equal(1, result.Stats.Compiled);
        Assert.Equal(1, result.Stats.MemoryCacheHits);
    }

    [Fact]
    public async Task The_watch_notices_a_new_file_and_the_next_collection_loads_it()
    {
        using var folder = new DagFolder();
        using var bag = folder.CreateBag(watch: true);
        Assert.Empty((await bag.CollectAsync()).Dags);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var wait = bag.WaitForChangeAsync(timeout.Token);
        Assert.False(wait.IsCompleted);
        folder.Write("new.cs", DagWithId("arrived"));
        await wait;

        var result = await bag.CollectAsync();
        Assert.Equal(["arrived"], result.Dags.Keys);

        // A change made before the wait starts is not lost.
        File.Delete(Path.Combine(folder.Dags, "new.cs"));
        await bag.WaitForChangeAsync(timeout.Token);
        Assert.Empty((await bag.CollectAsync()).Dags);
    }

    [Fact]
    public async Task A_dags_folder_created_after_the_bag_is_picked_up()
    {
        using var folder = new DagFolder();
        var late = Path.Combine(folder.Root, "late");
        using var bag = new DagBag(new DagBagOptions { DagsFolder = late, Watch = true });
        Assert.Empty((await bag.CollectAsync()).Files);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var wait = bag.WaitForChangeAsync(timeout.Token);

        Directory.CreateDirectory(late);
        File.WriteAllText(Path.Combine(late, "late.cs"), DagWithId("late"));
        await wait;

        Assert.Equal(["late"], (await bag.CollectAsync()).Dags.Keys);
    }

    [Fact]
    public async Task Another_parser_plugs_in_for_its_extension()
    {
        using var folder = new DagFolder();
        var path = folder.Write("listed.dags", "alpha\nbeta\n");
        folder.Write("ignored.txt", "not a dag file");
        using var bag = folder.CreateBag(parsers: [new LineParser()]);

        var result = await bag.CollectAsync();

        Assert.Equal(["alpha", "beta"], result.Dags.Keys);
        Assert.Equal(path, result.Dags["alpha"].FileLoc);
        Assert.Equal([path], result.Files);
        Assert.Equal(DagFileOrigin.Parsed, result.FileStats[0].Origin);
    }

    [Fact]
    public void Options_come_from_the_configuration()
    {
        using var folder = new DagFolder();
        var config = Configuration.SiroccoConfig.Load(folder.Root, new Dictionary<string, string>
        {
            ["SIROCCO__CORE__DAGBAG_IMPORT_TIMEOUT"] = "2.5",
        });

        var options = DagBagOptions.FromConfig(config, watch: false);

        Assert.Equal(Path.Combine(folder.Root, "dags"), options.DagsFolder);
        Assert.Equal(Path.Combine(folder.Root, "cache", "dags"), options.CacheFolder);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.ParseTimeout);
        Assert.False(options.Watch);
    }

    [Fact]
    public async Task Airflowignore_patterns_skip_files_and_folders_below_their_folder()
    {
        using var folder = new DagFolder();
        folder.Write(".airflowignore", "skip_.*  # comment\n^vendor$\n\n[invalid\n");
        folder.Write("keep.cs", DagWithId("keep"));
        folder.Write("skip_me.cs", "this would not compile");
        folder.Write("vendor/lib.cs", "nor would this");
        folder.Write("team/.airflowignore", "^local\\.cs$");
        folder.Write("team/local.cs", "ignored below team only");
        folder.Write("team/shared.cs", DagWithId("team_shared"));
        folder.Write("local.cs", DagWithId("root_local"));

        using var bag = folder.CreateBag(diskCache: false);
        var result = await bag.CollectAsync();

        Assert.Empty(result.ImportErrors);
        Assert.Equal(["keep", "root_local", "team_shared"], result.Dags.Keys);
        Assert.Equal(3, result.Files.Count);
    }

    [Fact]
    public async Task A_missing_folder_has_no_dags_and_no_errors()
    {
        using var folder = new DagFolder();
        using var bag = new DagBag(new DagBagOptions { DagsFolder = Path.Combine(folder.Root, "absent"), Watch = false });

        var result = await bag.CollectAsync();

        Assert.Empty(result.Dags);
        Assert.Empty(result.Files);
        Assert.Empty(result.ImportErrors);
    }

    [Fact]
    public async Task Host_assemblies_such_as_KubernetesClient_are_referenced_and_k8s_Models_is_imported()
    {
        using var folder = new DagFolder();
        folder.Write("pod.cs", """
            var pod = new V1Pod { Metadata = new V1ObjectMeta { Name = "pod-ex-minimum", NamespaceProperty = "default" } };
            return new Dag("k8s_models") { Description = pod.Metadata.Name + "/" + pod.Metadata.NamespaceProperty };
            """);
        using var bag = folder.CreateBag(diskCache: false);

        var result = await bag.CollectAsync();

        Assert.Empty(result.ImportErrors);
        Assert.Equal("pod-ex-minimum/default", result.Dags["k8s_models"].Description);
    }

    [Fact]
    public async Task Explicit_references_and_imports_replace_the_defaults()
    {
        using var folder = new DagFolder();
        folder.Write("explicit.cs", "return new Sirocco.Dag(\"explicit\") { Description = string.Join(\",\", new[] { \"a\" }) };");
        folder.Write("needs_default_import.cs", "return new Dag(\"no\");");
        using var bag = new DagBag(new DagBagOptions
        {
            DagsFolder = folder.Dags,
            Watch = false,
            MetadataReferencePaths = [typeof(Dag).Assembly.Location],
            Imports = ["System"],
        });

        var result = await bag.CollectAsync();

        Assert.Equal(["explicit"], result.Dags.Keys);
        Assert.Contains("error CS0246", Assert.Single(result.ImportErrors).Message, StringComparison.Ordinal);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference WeakContextOf(string text)
    {
        var key = CSharp.ScriptEnvironment.Get(null, null).CacheKey(text);
        var name = "sirocco-dag-" + key[..16];
        return new WeakReference(System.Runtime.Loader.AssemblyLoadContext.All.Single(c => c.Name == name));
    }

    private static string BigDag(int tasks)
    {
        var lines = new List<string> { "var dag = new Dag(\"big\");", "EmptyOperator previous = null;" };
        for (var i = 0; i < tasks; i++)
        {
            lines.Add($"var t{i} = new EmptyOperator(\"t{i}\") {{ Retries = {i % 3} }}; dag.Add(t{i}); if (previous is not null) {{ _ = previous >> t{i}; }} previous = t{i};");
            lines.Add($"static string Describe{i}(int x) => x switch {{ 0 => \"zero\", 1 => \"one\", _ => $\"many {{x}}\" }};");
        }

        lines.Add("return dag;");
        return string.Join('\n', lines);
    }

    private sealed class LineParser : IDagFileParser
    {
        public IReadOnlyCollection<string> FileExtensions { get; } = [".dags"];

        public Task<DagFileParseResult> ParseAsync(DagFileParseRequest request, CancellationToken cancellationToken)
        {
            var dags = request.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(id => new Dag(id)).ToList();
            return Task.FromResult(new DagFileParseResult(dags, []));
        }
    }
}
