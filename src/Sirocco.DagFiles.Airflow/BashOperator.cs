using System.Diagnostics;
using System.Globalization;

namespace Sirocco.DagFiles.Airflow;

/// <summary>
/// Runs a bash command as a local process, as Airflow's <c>BashOperator</c>: <see cref="BashCommand"/> and
/// <see cref="Env"/> are templates; the output goes line by line into the try's log; exit code 0 succeeds (the last
/// output line is the XCom when <see cref="BaseOperator.DoXcomPush"/>), a code in <see cref="SkipOnExitCode"/> (99 by
/// default) skips the task, any other fails it. The process's pipes are read asynchronously: no thread waits on it.
/// </summary>
public sealed class BashOperator : BaseOperator
{
    private static readonly string[] Fields = [nameof(BashCommand), nameof(Env)];
    private static readonly string[] Extensions = [".sh", ".bash"];

    /// <summary>Creates the task.</summary>
    /// <param name="taskId">The task id.</param>
    public BashOperator(string taskId)
        : base(taskId)
    {
    }

    /// <summary>The command, run with <c>bash -c</c>; a value ending in <c>.sh</c> or <c>.bash</c> names a template file.</summary>
    public string BashCommand { get; set; } = string.Empty;

    /// <summary>The environment of the process; null inherits the scheduler's own.</summary>
    public IDictionary<string, string>? Env { get; set; }

    /// <summary>With <see cref="Env"/>: add it to the inherited environment instead of replacing it.</summary>
    public bool AppendEnv { get; set; }

    /// <summary>The working directory; a new temporary directory (deleted afterwards) when null.</summary>
    public string? Cwd { get; set; }

    /// <summary>Exit codes that end the try as skipped (default 99).</summary>
    public IList<int> SkipOnExitCode { get; set; } = [99];

    /// <inheritdoc/>
    public override IReadOnlyList<string> TemplateFields => Fields;

    /// <inheritdoc/>
    public override IReadOnlyList<string> TemplateExtensions => Extensions;

    /// <inheritdoc/>
    public override BaseOperator CloneForTry()
    {
        var copy = (BashOperator)base.CloneForTry();
        copy.Env = Env is null ? null : new Dictionary<string, string>(Env, StringComparer.Ordinal);
        copy.SkipOnExitCode = [.. SkipOnExitCode];
        return copy;
    }

    /// <summary>Runs the command; returns its last output line when <see cref="BaseOperator.DoXcomPush"/>.</summary>
    /// <param name="context">The try's context (log, run).</param>
    /// <param name="cancellationToken">Kills the process (and its children) when cancelled.</param>
    /// <exception cref="TaskSkippedException">The command exited with a code of <see cref="SkipOnExitCode"/>.</exception>
    /// <exception cref="SiroccoException">The command exited with another non-zero code.</exception>
    public override async Task<object?> ExecuteAsync(TaskExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? tempDir = null;
        var cwd = Cwd;
        if (cwd is null)
        {
            tempDir = Directory.CreateTempSubdirectory("sirocco-bash-").FullName;
            cwd = tempDir;
        }
        else if (!Directory.Exists(cwd))
        {
            throw new SiroccoException($"Can not find the cwd: {cwd}");
        }

        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = cwd,
        };
        start.ArgumentList.Add("-c");
        // Standard error joins standard output, as Airflow's Popen(stderr=STDOUT): one stream, in order.
        start.ArgumentList.Add("exec 2>&1\n" + BashCommand);
        if (Env is not null)
        {
            if (!AppendEnv)
            {
                start.Environment.Clear();
            }

            foreach (var (k, v) in Env)
            {
                start.Environment[k] = v;
            }
        }

        // Airflow's context variables, so scripts can tell which task they run for.
        start.Environment["AIRFLOW_CTX_DAG_ID"] = context.DagRun.DagId;
        start.Environment["AIRFLOW_CTX_TASK_ID"] = TaskId;
        start.Environment["AIRFLOW_CTX_DAG_RUN_ID"] = context.DagRun.RunId;
        start.Environment["AIRFLOW_CTX_TRY_NUMBER"] = context.TaskInstance.TryNumber.ToString(CultureInfo.InvariantCulture);
        start.Environment["AIRFLOW_CTX_LOGICAL_DATE"] = context.DagRun.LogicalDate.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);

        context.Log($"Running command: ['bash', '-c', '{BashCommand}']");
        try
        {
            using var process = Process.Start(start) ?? throw new SiroccoException("could not start bash");
            process.StandardInput.Close();
            string? last = null;
            async Task PumpAsync(StreamReader reader)
            {
                while (await reader.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
                {
                    last = line;
                    context.Log(line);
                }
            }

            var output = PumpAsync(process.StandardOutput);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                context.Log("Sending SIGTERM signal to bash process group");
                throw;
            }

            await output.ConfigureAwait(false);
            var code = process.ExitCode;
            context.Log($"Command exited with return code {code}");
            if (SkipOnExitCode.Contains(code))
            {
                throw new TaskSkippedException($"Bash command returned exit code {code}. Skipping.");
            }

            if (code != 0)
            {
                throw new SiroccoException($"Bash command failed. The command returned a non-zero exit code {code}.");
            }

            return DoXcomPush ? last : null;
        }
        finally
        {
            if (tempDir is not null)
            {
                try
                {
                    Directory.Delete(tempDir, recursive: true);
                }
                catch (IOException)
                {
                    // A process left behind may still hold it; the temporary folder is cleaned by the system.
                }
            }
        }
    }
}
