using System.Text.RegularExpressions;

namespace Sirocco.DagFiles;

/// <summary>
/// Lists the DAG files of a folder, recursively: hidden files and folders (dot-names) are skipped, and so is whatever an
/// <c>.airflowignore</c> file excludes (Airflow 2's default <c>regexp</c> syntax: one regular expression per line,
/// <c>#</c> starts a comment, each searched in the path relative to the folder holding the ignore file; it applies to
/// that folder and everything below; a matching folder is not entered). Symbolic links to folders are followed once.
/// </summary>
internal static class DagFileFinder
{
    /// <summary>The ignore file's name, as in Airflow.</summary>
    public const string IgnoreFileName = ".airflowignore";

    private static readonly TimeSpan PatternTimeout = TimeSpan.FromSeconds(1);

    private static readonly EnumerationOptions OneLevel = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System, // dot-files and dot-folders on Unix
        MatchType = MatchType.Simple,
    };

    /// <summary>The files under <paramref name="folder"/> accepted by <paramref name="isDagFile"/>, in ordinal order.</summary>
    public static List<string> Find(string folder, Func<string, bool> isDagFile)
    {
        var files = new List<string>();
        if (Directory.Exists(folder))
        {
            var visited = new HashSet<string>(StringComparer.Ordinal);
            Walk(new DirectoryInfo(folder), [], isDagFile, files, visited);
        }

        files.Sort(StringComparer.Ordinal);
        return files;
    }

    private static void Walk(
        DirectoryInfo directory, List<IgnoreRule> inherited, Func<string, bool> isDagFile, List<string> files, HashSet<string> visited)
    {
        var real = directory.LinkTarget is null ? directory.FullName : directory.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        if (real is null || !visited.Add(real))
        {
            return;
        }

        var rules = inherited;
        var ignoreFile = Path.Combine(directory.FullName, IgnoreFileName);
        if (File.Exists(ignoreFile))
        {
            rules = [.. inherited, .. ReadRules(ignoreFile, directory.FullName)];
        }

        try
        {
            foreach (var file in directory.EnumerateFiles("*", OneLevel))
            {
                if (isDagFile(file.FullName) && !IsIgnored(file.FullName, rules))
                {
                    files.Add(file.FullName);
                }
            }

            foreach (var sub in directory.EnumerateDirectories("*", OneLevel))
            {
                if (!IsIgnored(sub.FullName, rules))
                {
                    Walk(sub, rules, isDagFile, files, visited);
                }
            }
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            // Removed or unreadable while listing: what it held is absent from this collection.
        }
    }

    private static List<IgnoreRule> ReadRules(string ignoreFile, string baseDirectory)
    {
        var rules = new List<IgnoreRule>();
        string[] lines;
        try
        {
            lines = File.ReadAllLines(ignoreFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return rules;
        }

        foreach (var raw in lines)
        {
            var hash = raw.IndexOf('#', StringComparison.Ordinal);
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                rules.Add(new IgnoreRule(baseDirectory, new Regex(line, RegexOptions.CultureInvariant, PatternTimeout)));
            }
            catch (ArgumentException)
            {
                // An invalid pattern is skipped, as Airflow does.
            }
        }

        return rules;
    }

    private static bool IsIgnored(string path, List<IgnoreRule> rules)
    {
        foreach (var rule in rules)
        {
            var relative = Path.GetRelativePath(rule.BaseDirectory, path).Replace('\\', '/');
            try
            {
                if (rule.Pattern.IsMatch(relative))
                {
                    return true;
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // A pathological pattern does not hide the file.
            }
        }

        return false;
    }

    private sealed record IgnoreRule(string BaseDirectory, Regex Pattern);
}
