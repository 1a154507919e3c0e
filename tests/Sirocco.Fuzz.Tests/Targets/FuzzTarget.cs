namespace Sirocco.Fuzz;

/// <summary>What a target made of one input: it took it, or refused it with a message fit for a user.</summary>
/// <param name="Accepted">True when the input was taken (DAGs loaded, template rendered, 2xx answer).</param>
/// <param name="Message">The refusal's message (null when accepted).</param>
internal sealed record Verdict(bool Accepted, string? Message)
{
    /// <summary>The input was taken.</summary>
    public static Verdict Accept { get; } = new(true, null);

    /// <summary>The input was refused with <paramref name="message"/>.</summary>
    public static Verdict Refuse(string message) => new(false, message);
}

/// <summary>One generated input, ready to run.</summary>
/// <param name="Input">The input as text, printed when the case fails.</param>
/// <param name="Run">Hands the input to the target; throws <see cref="FuzzFailureException"/> when the answer breaks a rule.</param>
internal sealed record PreparedCase(string Input, Func<CancellationToken, Task<Verdict>> Run);

/// <summary>An answer that breaks the target's rules (wrong exception type, a 5xx, a refusal that names nothing...).</summary>
internal sealed class FuzzFailureException(string message) : Exception(message);

/// <summary>
/// Something fuzzed: it is started once, then given generated cases one at a time. Each case must end within
/// <see cref="CaseTimeLimit"/> in a <see cref="Verdict"/>; anything else is a failure of the product.
/// </summary>
internal interface IFuzzTarget : IAsyncDisposable
{
    /// <summary>The target's name (also part of each case's seed).</summary>
    string Name { get; }

    /// <summary>How long one case may take.</summary>
    TimeSpan CaseTimeLimit { get; }

    /// <summary>Starts what the cases need (a server, a cluster, a folder).</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Generates case <paramref name="index"/> from its random source.</summary>
    PreparedCase Prepare(Random random, int index);
}
