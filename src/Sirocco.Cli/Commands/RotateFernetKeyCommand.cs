using System.CommandLine;

namespace Sirocco.Cli.Commands;

/// <summary>
/// <c>sirocco rotate-fernet-key</c>, as Airflow's: after a new key is put first in <c>[core] fernet_key</c>
/// (<c>NEW,OLD</c>), re-encrypts every encrypted Variable value and connection password and extra with it; the old key
/// can then be removed.
/// </summary>
internal static class RotateFernetKeyCommand
{
    public static Command Create(CliContext ctx)
    {
        var rotate = new Command("rotate-fernet-key", "Re-encrypt Variables and Connections with the first key of [core] fernet_key");
        rotate.SetAction(async (_, ct) =>
        {
            var rows = await ctx.Store.RotateFernetKeyAsync(ct);
            ctx.Out.WriteLine($"Re-encrypted {rows} row(s) with the first key of [core] fernet_key.");
            return 0;
        });
        return rotate;
    }
}
