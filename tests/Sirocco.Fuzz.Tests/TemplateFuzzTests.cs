using Xunit.Abstractions;

namespace Sirocco.Fuzz.Tests;

/// <summary>Generated Jinja templates: each renders or is a template error naming the field, within 5 s.</summary>
public sealed class TemplateFuzzTests(ITestOutputHelper output)
{
    /// <summary>Templates the fuzzer found, each a bug fixed since: the text, whether it renders, and what its error says.</summary>
    public static TheoryData<string, bool, string> FoundInputs() => new()
    {
        // The length check multiplied length by count and overflowed: an ArgumentOutOfRangeException, and for a list a
        // loop of 3074457345618258603 rounds (a hang whose thread kept a core busy after the case was given up).
        { "{{ 'abc' * 3074457345618258603 }}", false, "value too large" },
        { "{{ items * 3074457345618258603 }}", false, "value too large" },
        { "{{ (1, 2) * 4611686018427387904 }}", false, "value too large" },
        { "{{ ('' * 10**18) | length }}", true, string.Empty },
        // ds_add multiplied days by ticks per day in a checked context: an OverflowException.
        { "{{ macros.ds_add(ds, -10**9) }}", false, "date value out of range" },
        // A connection's extra with a key twice threw an ArgumentException when its secrets were registered.
        { "{{ conn.dup_conn.extra_dejson.k }}", false, "dup_conn" },
        { "{{ conn.env_dup.host }}", false, "env_dup" },
    };

    [Fact]
    public async Task Generated_templates_render_or_fail_with_a_located_template_error()
    {
        await using var target = new TemplateTarget();
        await target.StartAsync(CancellationToken.None);
        await FuzzCheck.RunAsync(target, defaultCases: 1_500, output);
    }

    [Theory]
    [MemberData(nameof(FoundInputs))]
    public async Task Inputs_found_by_the_fuzzer_render_or_fail_cleanly(string text, bool renders, string error)
    {
        await using var target = new TemplateTarget();
        await target.StartAsync(CancellationToken.None);
        await FuzzCheck.FoundInputAsync(_ => Task.FromResult(target.Check(text)), renders, error, TimeSpan.FromSeconds(5));
    }
}
