using System.Diagnostics;
using Xunit.Abstractions;

namespace Sirocco.DagFiles.Airflow.Tests;

/// <summary>10,000 mutated DAG files: each ends in DAGs or in a located import error, never a crash or a hang.</summary>
public sealed class RandomizedTests(ITestOutputHelper output)
{
    private const string Interesting = "()[]{}\"'\\:\n\t #=,.*@+-<>!%&|^~_0123456789abcxyzAZ";

    [Fact]
    public void Ten_thousand_mutated_files_end_in_a_dag_or_an_import_error()
    {
        var corpus = Directory.GetFiles(Path.Combine(Support.Fixtures, "dags"), "*.py").Order(StringComparer.Ordinal)
            .Select(File.ReadAllText).Prepend(Support.SeedDagText()).ToArray();
        var words = corpus.SelectMany(t => t.Split([' ', '\n', '(', ')', ',', '=', '.', '[', ']'], StringSplitOptions.RemoveEmptyEntries))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        // A fixed seed keeps the test reproducible; SIROCCO_FUZZ_SEED explores others locally.
        var seed = int.TryParse(System.Environment.GetEnvironmentVariable("SIROCCO_FUZZ_SEED"), out var s) ? s : 20261126;
        var random = new Random(seed);
        var parser = Support.NewParser();
        var clock = Stopwatch.StartNew();
        int loaded = 0, failed = 0, located = 0;
        var slowest = TimeSpan.Zero;
        var samples = new List<string>();
        for (var i = 0; i < 10_000; i++)
        {
            var text = corpus[random.Next(corpus.Length)];
            var mutations = 1 + random.Next(3);
            for (var m = 0; m < mutations; m++)
            {
                text = Mutate(text, random, words);
            }

            var started = clock.Elapsed;
            var result = parser.Parse($"/dags/mutant_{i}.py", text, null, TimeSpan.FromSeconds(5), CancellationToken.None);
            var took = clock.Elapsed - started;
            slowest = took > slowest ? took : slowest;
            Assert.True(took < TimeSpan.FromSeconds(5), $"mutant {i} took {took}");
            if (result.Errors.Count > 0)
            {
                Assert.Empty(result.Dags); // never half a DAG
                var error = Assert.Single(result.Errors);
                Assert.DoesNotContain("internal error", error.Message, StringComparison.Ordinal);
                Assert.StartsWith($"/dags/mutant_{i}.py", error.Message, StringComparison.Ordinal);
                failed++;
                if (samples.Count < 40 && random.Next(40) == 0)
                {
                    samples.Add(error.Message);
                }

                if (error.Line is not null)
                {
                    located++;
                }
            }
            else
            {
                loaded += result.Dags.Count > 0 ? 1 : 0;
            }
        }

        output.WriteLine($"{loaded} loaded, {failed} import errors ({located} located), {clock.Elapsed.TotalSeconds:0.00} s, slowest {slowest.TotalMilliseconds:0.0} ms");
        foreach (var sample in samples.Take(40))
        {
            output.WriteLine(sample);
        }

        // Both outcomes must be common, or the mutations test nothing.
        Assert.InRange(loaded, 500, 9_500);
        Assert.InRange(failed, 500, 9_500);
        Assert.True(located >= failed * 9 / 10, $"{located} of {failed} errors carry a line");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"10,000 files took {clock.Elapsed} (slowest {slowest})");
    }

    private static string Mutate(string text, Random random, string[] words)
    {
        if (text.Length == 0)
        {
            return "x";
        }

        var at = random.Next(text.Length);
        switch (random.Next(7))
        {
            case 0: // delete a short span
                return text.Remove(at, Math.Min(text.Length - at, 1 + random.Next(8)));
            case 1: // insert a character that matters to Python
                return text.Insert(at, Interesting[random.Next(Interesting.Length)].ToString());
            case 2: // replace a word with another word of the corpus
                var start = at;
                while (start > 0 && char.IsLetterOrDigit(text[start - 1]))
                {
                    start--;
                }

                var end = at;
                while (end < text.Length && char.IsLetterOrDigit(text[end]))
                {
                    end++;
                }

                return string.Concat(text.AsSpan(0, start), words[random.Next(words.Length)], text.AsSpan(end));
            case 3: // duplicate a line
            case 4: // drop a line
            case 5: // swap two lines
                var lines = text.Split('\n').ToList();
                var a = random.Next(lines.Count);
                var b = random.Next(lines.Count);
                switch (random.Next(3))
                {
                    case 0:
                        lines.Insert(a, lines[b]);
                        break;
                    case 1:
                        lines.RemoveAt(a);
                        break;
                    default:
                        (lines[a], lines[b]) = (lines[b], lines[a]);
                        break;
                }

                return string.Join('\n', lines);
            default: // change the indentation of a line
                var lineStart = text.LastIndexOf('\n', at) + 1;
                return random.Next(2) == 0 ? text.Insert(lineStart, "    ") : text.Insert(lineStart, " ");
        }
    }
}
