namespace Sirocco.Templating.Tests;

/// <summary>120 random strings through 28 string templates, compared with Jinja2's output for each.</summary>
public class StringSampleTests
{
    [Fact]
    public void String_methods_and_filters_match_jinja2_on_random_strings()
    {
        var engine = new TemplateEngine();
        var mismatches = new List<string>();
        var checkedCount = 0;
        foreach (var sample in Fixture.Samples.GetProperty("strings").EnumerateArray())
        {
            var x = sample.GetProperty("x").GetString()!;
            var context = new TemplateContext().Set("x", x);
            foreach (var output in sample.GetProperty("outputs").EnumerateObject())
            {
                string actual;
                try
                {
                    actual = engine.Render(output.Name, context);
                }
                catch (TemplateException e)
                {
                    actual = "!error: " + e.Reason;
                }

                checkedCount++;
                if (actual != output.Value.GetString())
                {
                    mismatches.Add($"{output.Name} with x={System.Text.Json.JsonSerializer.Serialize(x)}: expected {System.Text.Json.JsonSerializer.Serialize(output.Value.GetString())}, got {System.Text.Json.JsonSerializer.Serialize(actual)}");
                }
            }
        }

        Assert.True(checkedCount > 3000);
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches:\n" + string.Join("\n", mismatches.Take(25)));
    }
}
