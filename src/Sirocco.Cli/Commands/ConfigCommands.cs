using System.CommandLine;
using Sirocco.Configuration;
using Sirocco.Masking;

namespace Sirocco.Cli.Commands;

/// <summary><c>sirocco config</c>: read and write <c>sirocco.cfg</c>.</summary>
internal static class ConfigCommands
{
    public static Command Create(CliContext ctx)
    {
        var config = new Command("config", "View and change the configuration (sirocco.cfg; SIROCCO__SECTION__KEY overrides)");

        var section = new Argument<string>("section") { Description = "Section name, e.g. core" };
        var key = new Argument<string>("key") { Description = "Option name, e.g. kube_config" };
        var getValue = new Command("get-value", "Print the value of an option") { section, key };
        getValue.SetAction(pr =>
        {
            var value = ctx.Config.Get(pr.GetValue(section)!, pr.GetValue(key)!);
            ctx.Out.WriteLine(value);
            return 0;
        });
        config.Subcommands.Add(getValue);

        var setSection = new Argument<string>("section") { Description = "Section name, e.g. core" };
        var setKey = new Argument<string>("key") { Description = "Option name, e.g. kube_config" };
        var setValue = new Argument<string>("value") { Description = "The value" };
        var set = new Command("set", "Write an option into sirocco.cfg") { setSection, setKey, setValue };
        set.SetAction(pr =>
        {
            var s = pr.GetValue(setSection)!;
            var k = pr.GetValue(setKey)!;
            ctx.Config.Set(s, k, pr.GetValue(setValue)!);
            var shown = SiroccoConfig.IsSensitive(s, k) ? SecretMasker.Mask : pr.GetValue(setValue);
            ctx.Out.WriteLine($"Set [{s.ToLowerInvariant()}/{k.ToLowerInvariant()}] = {shown} in {ctx.Config.FilePath}");
            if (ctx.Config.List().FirstOrDefault(o => o.Section == s.ToLowerInvariant() && o.Key == k.ToLowerInvariant()) is { Source: ConfigSource.Environment })
            {
                ctx.Error.WriteLine($"warning: an environment variable overrides [{s}/{k}]; the new file value is not in effect");
            }

            return 0;
        });
        config.Subcommands.Add(set);

        var output = CliApp.OutputOption();
        var sectionFilter = new Option<string?>("--section") { Description = "Only this section" };
        var list = new Command("list", "List every option with its value and source (secrets masked)") { output, sectionFilter };
        list.SetAction(pr =>
        {
            var only = pr.GetValue(sectionFilter)?.ToLowerInvariant();
            var options = ctx.Config.List().Where(o => only is null || o.Section == only).ToList();
            if (only is not null && !SiroccoConfig.KnownSections.Contains(only) && options.Count == 0)
            {
                throw new SiroccoException($"unknown config section [{only}]; known sections: {string.Join(", ", SiroccoConfig.KnownSections)}");
            }

            Output.Rows(
                ctx,
                pr.GetValue(output)!,
                ["section", "key", "value", "source"],
                options.Select(o => (IReadOnlyList<string?>)[o.Section, o.Key, SiroccoConfig.IsSensitive(o.Section, o.Key) ? SecretMasker.Mask : o.Value, o.Source.ToString().ToLowerInvariant()]));
            return 0;
        });
        config.Subcommands.Add(list);
        return config;
    }
}
