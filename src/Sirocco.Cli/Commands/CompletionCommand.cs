using System.CommandLine;

namespace Sirocco.Cli.Commands;

/// <summary>
/// <c>sirocco completion bash|zsh</c>: prints a shell completion script. The script asks the program itself what may
/// come next (System.CommandLine's <c>[suggest:POSITION]</c> directive), so completions always match the installed
/// version's commands and options.
/// </summary>
internal static class CompletionCommand
{
    private const string Bash = """
        # sirocco completion for bash. Load it with: source <(sirocco completion bash)
        _sirocco_complete() {
            local IFS=$'\n'
            COMPREPLY=( $(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _sirocco_complete sirocco

        """;

    private const string Zsh = """
        #compdef sirocco
        # sirocco completion for zsh. Load it with: source <(sirocco completion zsh)
        _sirocco() {
            local -a candidates
            candidates=("${(@f)$("${words[1]}" "[suggest:${#BUFFER}]" "${BUFFER}" 2>/dev/null)}")
            compadd -a candidates
        }
        if (( $+functions[compdef] )); then
            compdef _sirocco sirocco
        fi

        """;

    public static Command Create(CliContext ctx)
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var completion = new Command("completion", "Print a shell completion script (source <(sirocco completion bash))") { shell };
        completion.SetAction(pr =>
        {
            ctx.Out.Write(pr.GetValue(shell) == "zsh" ? Zsh : Bash);
            return 0;
        });
        return completion;
    }
}
