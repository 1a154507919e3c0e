using System.Text.Json.Nodes;
using Sirocco.Fidelity.Tests.Corpus;
using Sirocco.Fidelity.Tests.Harness;
using Xunit.Abstractions;

namespace Sirocco.Fidelity.Tests;

/// <summary>
/// Every case of the corpus sent to the local cluster and to a real kube-apiserver (v1.20.2): same status codes, same
/// Status reasons, messages and field causes, same stored objects after defaulting.
/// </summary>
[Collection("clusters")]
public sealed class DifferentialTests(ClustersFixture fx, ITestOutputHelper output)
{
    public static TheoryData<string> Cases => new(CorpusCases.All.Select(c => c.Id));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Local_cluster_answers_as_the_real_api_server(string id)
    {
        var c = CorpusCases.All.Single(c => c.Id == id);
        var localRun = Runner.RunAsync(fx.Local, c);
        var realRun = Runner.RunAsync(fx.Real, c);
        var (localSetup, local) = await localRun;
        var (realSetup, real) = await realRun;

        var problems = new List<string>();
        for (var i = 0; i < c.Setup.Count; i++)
        {
            if (localSetup[i].Code != realSetup[i].Code)
            {
                problems.Add($"setup {i} {c.Setup[i].Method} {c.Setup[i].Path}: local {localSetup[i].Code} {Short(localSetup[i].Text)} | real {realSetup[i].Code} {Short(realSetup[i].Text)}");
            }
        }

        for (var i = 0; i < c.Steps.Count; i++)
        {
            var step = c.Steps[i];
            output.WriteLine($"{step.Method} {step.Path}: local {local[i].Code}, real {real[i].Code}");
            if ((c.NewerThanV120 ?? c.LocalLimitation) is { } expected)
            {
                // A documented exception: the local cluster's own answer is still checked.
                Assert.Equal(expected.LocalCode, local[i].Code);
                continue;
            }

            if (step.RetentionDependent)
            {
                Assert.Equal("ERROR", local[i].Body?[0]?["type"]?.GetValue<string>());
                Assert.Equal(410, local[i].Body?[0]?["object"]?["code"]?.GetValue<int>());
                if (real[i].Body?[0]?["type"]?.GetValue<string>() != "ERROR")
                {
                    output.WriteLine("the real server still holds that version: not compared");
                    continue;
                }
            }

            if (local[i].Code != real[i].Code)
            {
                problems.Add($"step {i} {step.Method} {step.Path}: code local {local[i].Code} | real {real[i].Code}\n  local: {Short(local[i].Text)}\n  real:  {Short(real[i].Text)}");
                continue;
            }

            var applied = new HashSet<string>(StringComparer.Ordinal);
            var a = Suffixless(Normalizer.Normalize(local[i].Body, step, applied), step);
            var b = Suffixless(Normalizer.Normalize(real[i].Body, step, applied), step);
            if (a is null && b is null && local[i].Text != real[i].Text)
            {
                problems.Add($"step {i} {step.Method} {step.Path}: body local {Short(local[i].Text)} | real {Short(real[i].Text)}");
            }

            foreach (var d in Diff.Of(a, b))
            {
                problems.Add($"step {i} {step.Method} {step.Path}: {d}");
            }

            foreach (var rule in applied)
            {
                output.WriteLine("v1.20 exception applied: " + rule);
            }
        }

        Assert.True(problems.Count == 0, $"{c.Id} in namespace {c.Namespace}:\n" + string.Join("\n", problems));
    }

    private static JsonNode? Suffixless(JsonNode? n, Req step) =>
        n is null || step.GeneratedPrefix is not { } prefix
            ? n
            : JsonNode.Parse(System.Text.RegularExpressions.Regex.Replace(n.ToJsonString(), System.Text.RegularExpressions.Regex.Escape(prefix) + "[a-z0-9]{5}", prefix + "<random>"));

    private static string Short(string s) => s.Length > 600 ? s[..600] + "…" : s;
}
