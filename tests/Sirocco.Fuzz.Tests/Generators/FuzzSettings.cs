using System.Globalization;

namespace Sirocco.Fuzz;

/// <summary>
/// The seed and the budget of a fuzz run, from the environment: <c>SIROCCO_FUZZ_SEED</c> (an integer; a constant by
/// default so every run generates the same cases) and <c>SIROCCO_FUZZ_CASES</c> (cases per target; each target has its
/// own default, small enough for CI).
/// </summary>
internal static class FuzzSettings
{
    /// <summary>The seed used when <c>SIROCCO_FUZZ_SEED</c> is not set.</summary>
    public const int DefaultSeed = 7_250_113;

    /// <summary>The seed in force.</summary>
    public static int Seed => ReadInt("SIROCCO_FUZZ_SEED") ?? DefaultSeed;

    /// <summary>The number of cases for a target: <c>SIROCCO_FUZZ_CASES</c> when set, else <paramref name="fallback"/>.</summary>
    /// <param name="fallback">The target's own default.</param>
    /// <returns>The number of cases, at least zero.</returns>
    public static int Cases(int fallback) => Math.Max(0, ReadInt("SIROCCO_FUZZ_CASES") ?? fallback);

    /// <summary>
    /// The random source of one case. It depends only on the seed, the target's name and the case number, so a case can
    /// be generated again on its own (the bench's <c>--case</c>) without generating the cases before it.
    /// </summary>
    /// <param name="seed">The run's seed.</param>
    /// <param name="target">The target's name.</param>
    /// <param name="index">The case number.</param>
    /// <returns>A random source.</returns>
    public static Random CaseRandom(int seed, string target, int index)
    {
        // FNV-1a over the name: string.GetHashCode differs from one process to the next.
        var hash = 2_166_136_261u;
        foreach (var c in target)
        {
            hash = (hash ^ c) * 16_777_619u;
        }

        var mixed = unchecked((uint)seed * 0x9E37_79B1u ^ hash ^ (uint)index * 0x85EB_CA77u);
        mixed ^= mixed >> 15;
        return new Random(unchecked((int)mixed));
    }

    private static int? ReadInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
}
