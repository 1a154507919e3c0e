namespace Sirocco.Fuzz;

/// <summary>The temp folders the targets write in (each its own), and their removal.</summary>
internal static class FuzzFolders
{
    /// <summary>A new, empty folder of the system's temp folder, named after <paramref name="target"/>.</summary>
    public static string Create(string target) => Directory.CreateTempSubdirectory($"sirocco-fuzz-{target}-").FullName;

    /// <summary>Deletes a folder and what it holds; one still in use is left to the system's temp cleaning.</summary>
    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open (a server stopping): the folder is under the temp folder, cleaned by the system.
        }
    }
}
