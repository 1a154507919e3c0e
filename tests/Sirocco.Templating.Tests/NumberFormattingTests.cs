using System.Globalization;
using Sirocco.Templating.Expressions;

namespace Sirocco.Templating.Tests;

/// <summary>400 floats across magnitudes, with what Python printed for each (fixtures/samples.json "numbers").</summary>
public class NumberFormattingTests
{
    private static IEnumerable<(double Value, System.Text.Json.JsonElement Sample)> Samples() =>
        Fixture.Samples.GetProperty("numbers").EnumerateArray()
            .Select(s => (BitConverter.Int64BitsToDouble(long.Parse(s.GetProperty("bits").GetString()!, CultureInfo.InvariantCulture)), s));

    [Fact]
    public void Float_repr_matches_python()
    {
        var mismatches = Samples().Where(x => PyOps.FloatRepr(x.Value) != x.Sample.GetProperty("repr").GetString())
            .Select(x => $"{x.Sample.GetProperty("repr").GetString()} -> {PyOps.FloatRepr(x.Value)}").ToList();
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches.Take(20)));
    }

    [Fact]
    public void Round_matches_python()
    {
        var mismatches = Samples()
            .Select(x => (Expected: x.Sample.GetProperty("round").GetString(), Actual: PyOps.FloatRepr(PyRound.Float(x.Value, x.Sample.GetProperty("ndigits").GetInt32()))))
            .Where(p => p.Expected != p.Actual).Select(p => $"{p.Expected} -> {p.Actual}").ToList();
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches.Take(20)));
    }

    [Fact]
    public void Percent_and_format_specs_match_python()
    {
        var mismatches = new List<string>();
        foreach (var (value, sample) in Samples())
        {
            var n = sample.GetProperty("ndigits").GetInt32();
            var fixedText = PyFormat.Percent("%." + n + "f", value);
            if (fixedText != sample.GetProperty("fixed").GetString())
            {
                mismatches.Add($"%.{n}f: {sample.GetProperty("fixed").GetString()} -> {fixedText}");
            }

            foreach (var (key, actual) in new[]
            {
                ("exp", PyFormat.FormatValue(value, "." + n + "e")),
                ("general", PyFormat.FormatValue(value, "." + n + "g")),
                ("grouped", PyFormat.FormatValue(value, ",.2f")),
                ("percent", PyFormat.FormatValue(value, ".1%")),
                ("default_g", PyFormat.Percent("%g", value)),
            })
            {
                if (actual != sample.GetProperty(key).GetString())
                {
                    mismatches.Add($"{key} (n={n}): {sample.GetProperty(key).GetString()} -> {actual}");
                }
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches.Take(20)));
    }
}
