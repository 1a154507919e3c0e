using System.Collections;
using Sirocco.Cli;

// The composition root: the only place that reads the process environment.
var environment = new Dictionary<string, string>(StringComparer.Ordinal);
foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
{
    environment[(string)e.Key] = (string?)e.Value ?? string.Empty;
}

return await CliApp.RunAsync(args, Console.Out, Console.Error, environment, Console.IsOutputRedirected);
