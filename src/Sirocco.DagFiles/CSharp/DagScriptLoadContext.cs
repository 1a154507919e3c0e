using System.Reflection;
using System.Runtime.Loader;

namespace Sirocco.DagFiles.CSharp;

/// <summary>
/// A collectible load context holding one compiled DAG file. Everything the file references resolves from the host's
/// default context, so <c>Dag</c> in the file is the host's <c>Dag</c>; only the file's own assembly lives here and is
/// unloaded once nothing (no DAG, no delegate, no running thread) refers to it any more.
/// </summary>
internal sealed class DagScriptLoadContext : AssemblyLoadContext
{
    private readonly IReadOnlyDictionary<string, string> _hostAssemblyPaths;

    public DagScriptLoadContext(string name, IReadOnlyDictionary<string, string> hostAssemblyPaths)
        : base(name, isCollectible: true) =>
        _hostAssemblyPaths = hostAssemblyPaths;

    /// <summary>Loads the file's assembly and binds its references now, so they resolve even after unloading starts.</summary>
    public Assembly LoadScript(Stream peStream)
    {
        var assembly = LoadFromStream(peStream);
        foreach (var reference in assembly.GetReferencedAssemblies())
        {
            try
            {
                _ = LoadFromAssemblyName(reference);
            }
            catch (FileNotFoundException)
            {
                // Reported by the runtime when (and if) the file actually uses it.
            }
        }

        return assembly;
    }

    /// <inheritdoc/>
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // Null means "ask the default context": framework and host assemblies are shared with the host.
        if (assemblyName.Name is not { } name || !_hostAssemblyPaths.TryGetValue(name, out var path))
        {
            return null;
        }

        foreach (var loaded in Default.Assemblies)
        {
            if (string.Equals(loaded.GetName().Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return loaded;
            }
        }

        try
        {
            return Default.LoadFromAssemblyName(assemblyName);
        }
        catch (FileNotFoundException)
        {
            // A host assembly outside the application's dependency list (MetadataReferencePaths): load it into the
            // default context, still shared with the host.
            return Default.LoadFromAssemblyPath(path);
        }
    }
}
