using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Sirocco.Configuration;

namespace Sirocco.Cli;

/// <summary>
/// The log of whoever runs Sirocco (scheduler, executor, Kubernetes code, local cluster, web server), on standard error
/// so that a command's output on standard out stays clean: <c>[logging] logging_level</c> (Airflow's level names) and
/// <c>[logging] json_format</c> (one JSON object per line, for a log collector) as Airflow reads them.
/// </summary>
internal static class ProcessLogging
{
    /// <summary>Airflow's level names (Python's) and what they mean here.</summary>
    private static readonly Dictionary<string, LogLevel> Levels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["NOTSET"] = LogLevel.Trace,
        ["DEBUG"] = LogLevel.Debug,
        ["INFO"] = LogLevel.Information,
        ["WARNING"] = LogLevel.Warning,
        ["WARN"] = LogLevel.Warning,
        ["ERROR"] = LogLevel.Error,
        ["CRITICAL"] = LogLevel.Critical,
        ["FATAL"] = LogLevel.Critical,
    };

    /// <summary>The level of <c>[logging] logging_level</c>; an unknown name is an error naming the option and the value.</summary>
    public static LogLevel Level(SiroccoConfig config)
    {
        var text = config.Get("logging", "logging_level").Trim();
        return Levels.TryGetValue(text, out var level)
            ? level
            : throw new SiroccoException($"[logging] logging_level = '{text}' is not a level: use DEBUG, INFO, WARNING, ERROR or CRITICAL");
    }

    /// <summary>Builds the logger factory the configuration describes; the caller disposes it (which flushes it).</summary>
    public static ILoggerFactory Create(SiroccoConfig config)
    {
        var level = Level(config);
        var json = config.GetBool("logging", "json_format");
        return LoggerFactory.Create(logging =>
        {
            logging.SetMinimumLevel(level);

            // ASP.NET Core's and HttpClient's own chatter only from warnings up; Sirocco's access log says what was asked.
            logging.AddFilter("Microsoft", (LogLevel)Math.Max((int)level, (int)LogLevel.Warning));
            logging.AddFilter("System.Net.Http", (LogLevel)Math.Max((int)level, (int)LogLevel.Warning));
            logging.AddConsole(c =>
            {
                c.LogToStandardErrorThreshold = LogLevel.Trace;
                c.FormatterName = json ? ConsoleFormatterNames.Json : ConsoleFormatterNames.Simple;
            });
            if (json)
            {
                logging.AddJsonConsole(j =>
                {
                    j.JsonWriterOptions = new JsonWriterOptions { Indented = false };
                    j.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    j.UseUtcTimestamp = true;
                    j.IncludeScopes = false;
                });
            }
            else
            {
                logging.AddSimpleConsole(s =>
                {
                    s.SingleLine = true;
                    s.TimestampFormat = "[yyyy-MM-ddTHH:mm:ss.fffZ] ";
                    s.UseUtcTimestamp = true;
                    s.ColorBehavior = LoggerColorBehavior.Disabled;
                    s.IncludeScopes = false;
                });
            }
        });
    }
}
