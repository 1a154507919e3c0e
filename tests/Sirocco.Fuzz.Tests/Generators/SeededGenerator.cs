namespace Sirocco.Fuzz;

/// <summary>A generator of texts in one language: valid seed texts, and a mutator that knows the language's words.</summary>
internal abstract class SeededGenerator
{
    /// <summary>Keeps the seeds and builds the mutator from their words and the language's own.</summary>
    /// <param name="seeds">Valid inputs (at least one).</param>
    /// <param name="keywords">Words of the language the seeds may lack.</param>
    /// <param name="specials">Syntax pieces inserted alone.</param>
    /// <param name="nesting">Open/close pairs for deep nesting.</param>
    protected SeededGenerator(IReadOnlyList<string> seeds, string[] keywords, IReadOnlyList<string> specials, IReadOnlyList<(string Open, string Close)> nesting)
    {
        Seeds = seeds.Count > 0 ? seeds : throw new ArgumentException($"{GetType().Name} has no seed input", nameof(seeds));
        Mutator = new TextMutator(new MutationProfile(SeedCorpus.Words(seeds, keywords), specials, nesting));
    }

    /// <summary>The valid inputs.</summary>
    protected IReadOnlyList<string> Seeds { get; }

    /// <summary>The mutator of this language.</summary>
    protected TextMutator Mutator { get; }

    /// <summary>One input.</summary>
    /// <param name="random">The case's random source.</param>
    /// <returns>The text.</returns>
    public abstract string Generate(Random random);
}
