using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Sirocco.DagFiles.CSharp;

/// <summary>
/// What a C# DAG file is compiled against: metadata references, implicit usings, compiler options, and the version
/// string that goes into every cache key. Building one reads ~170 framework assemblies, so it is shared per process
/// for each distinct (references, imports) pair.
/// </summary>
internal sealed class ScriptEnvironment
{
    /// <summary>The script class the compiler generates (its static <c>&lt;Factory&gt;</c> runs the file).</summary>
    public const string ScriptClassName = "SiroccoDagScript";

    /// <summary>The assembly name of every compiled DAG file.</summary>
    public const string AssemblyName = "SiroccoDagFile";

    // Bump when the way files are compiled or loaded changes, so old cache entries are not reused.
    private const string FormatVersion = "sirocco-dagfiles-1";

    private static readonly ConcurrentDictionary<string, Lazy<ScriptEnvironment>> Shared = new(StringComparer.Ordinal);

    private static readonly string[] BaseImports =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Threading", "System.Threading.Tasks", "Sirocco", "Sirocco.Scheduling"];

    private static readonly string[] OptionalImports = ["Sirocco.Kubernetes", "k8s.Models"];

    private readonly Lazy<ImmutableArray<MetadataReference>> _references;
    private readonly Lazy<CSharpCompilation> _template;

    private ScriptEnvironment(
        Lazy<ImmutableArray<MetadataReference>> references,
        IReadOnlyDictionary<string, string> hostAssemblyPaths,
        IReadOnlyList<string> imports,
        string version)
    {
        _references = references;
        HostAssemblyPaths = hostAssemblyPaths;
        Imports = imports;
        Version = version;
        ParseOptions = new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.None, SourceCodeKind.Script);
        CompilationOptions = new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                scriptClassName: ScriptClassName,
                usings: imports,
                optimizationLevel: OptimizationLevel.Debug, // exact line numbers in runtime errors
                concurrentBuild: false, // files are compiled in parallel instead
                deterministic: true,
                nullableContextOptions: NullableContextOptions.Disable)
            .WithMetadataImportOptions(MetadataImportOptions.Public);

        // Every file's compilation is derived from this empty one, so the references are bound once (Roslyn reuses the
        // reference manager when only syntax trees change, hence one assembly name for all: each file's assembly
        // lives in its own load context anyway).
        _template = new Lazy<CSharpCompilation>(() => CSharpCompilation.CreateScriptCompilation(
            AssemblyName,
            syntaxTree: null,
            References,
            CompilationOptions,
            previousScriptCompilation: null,
            returnType: typeof(object),
            globalsType: null));
    }

    /// <summary>Framework assemblies plus the host's assemblies (read on first use: a disk-cache hit needs none).</summary>
    public ImmutableArray<MetadataReference> References => _references.Value;

    /// <summary>Non-framework assemblies by simple name: a script resolves them from the host (default) context.</summary>
    public IReadOnlyDictionary<string, string> HostAssemblyPaths { get; }

    /// <summary>The implicit usings.</summary>
    public IReadOnlyList<string> Imports { get; }

    /// <summary>Identifies the compiler, the runtime, every host assembly (by MVID) and the imports.</summary>
    public string Version { get; }

    /// <summary>Script parse options.</summary>
    public CSharpParseOptions ParseOptions { get; }

    /// <summary>Script compilation options.</summary>
    public CSharpCompilationOptions CompilationOptions { get; }

    /// <summary>The shared environment for these options.</summary>
    public static ScriptEnvironment Get(IReadOnlyList<string>? referencePaths, IReadOnlyList<string>? imports)
    {
        var id = string.Join('\n', referencePaths ?? ["<default>"]) + "\n--\n" + string.Join('\n', imports ?? ["<default>"]);
        return Shared.GetOrAdd(id, _ => new Lazy<ScriptEnvironment>(() => Create(referencePaths, imports))).Value;
    }

    /// <summary>A script compilation of one file, sharing the bound references of all others.</summary>
    public CSharpCompilation CreateCompilation(SyntaxTree tree) => _template.Value.AddSyntaxTrees(tree);

    /// <summary>The cache key of a file's text: SHA-256 of the version string and the text, lower-case hex.</summary>
    public string CacheKey(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(Version + "\n" + text);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private static ScriptEnvironment Create(IReadOnlyList<string>? referencePaths, IReadOnlyList<string>? imports)
    {
        var frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var framework = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var tpa = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? string.Empty;
        foreach (var path in tpa.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (string.Equals(Path.GetDirectoryName(path), frameworkDir, StringComparison.Ordinal))
            {
                framework.TryAdd(Path.GetFileNameWithoutExtension(path), path);
            }
        }

        if (framework.Count == 0)
        {
            // Single-file or unusual hosts: fall back to the runtime directory itself.
            foreach (var path in Directory.EnumerateFiles(frameworkDir, "*.dll"))
            {
                if (IsManagedAssembly(path))
                {
                    framework.TryAdd(Path.GetFileNameWithoutExtension(path), path);
                }
            }
        }

        var host = referencePaths is null ? DiscoverHostAssemblies(framework) : ExplicitHostAssemblies(referencePaths);
        var version = new StringBuilder()
            .Append(FormatVersion).Append('|')
            .Append("runtime ").Append(Environment.Version).Append('|')
            .Append("roslyn ").Append(typeof(CSharpCompilation).Assembly.GetName().Version).Append('|')
            .Append("dagfiles ").Append(typeof(ScriptEnvironment).Assembly.ManifestModule.ModuleVersionId).Append('|');
        var namespaces = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, path) in host)
        {
            var mvid = ReadMvidAndNamespaces(path, namespaces);
            version.Append(name).Append(' ').Append(mvid).Append('|');
        }

        IReadOnlyList<string> effectiveImports = imports is not null
            ? [.. imports]
            : [.. BaseImports, .. OptionalImports.Where(namespaces.Contains)];
        version.Append("imports ").AppendJoin(',', effectiveImports);

        var references = new Lazy<ImmutableArray<MetadataReference>>(() =>
        {
            var builder = ImmutableArray.CreateBuilder<MetadataReference>(framework.Count + host.Count);
            builder.AddRange(framework.Values.Select(path => MetadataReference.CreateFromFile(path)));
            builder.AddRange(host.Values.Select(path => MetadataReference.CreateFromFile(path)));
            return builder.MoveToImmutable();
        });

        return new ScriptEnvironment(references, host, effectiveImports, version.ToString());
    }

    private static SortedDictionary<string, string> ExplicitHostAssemblies(IReadOnlyList<string> referencePaths)
    {
        var host = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var path in referencePaths)
        {
            host[Path.GetFileNameWithoutExtension(path)] = Path.GetFullPath(path);
        }

        return host;
    }

    /// <summary>
    /// Every <c>Sirocco.*</c> and <c>KubernetesClient</c> assembly (in the runtime's trusted-platform list, loaded or in
    /// the base directory), plus the non-framework assemblies they reference (found in that list or the base directory).
    /// </summary>
    private static SortedDictionary<string, string> DiscoverHostAssemblies(SortedDictionary<string, string> framework)
    {
        // The runtime's trusted-platform list, not the assemblies loaded so far: two processes of one application (a
        // host and its DAG-processor child) must find the same set, whatever each happened to load, so that they share
        // cache keys.
        var candidates = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string trusted)
        {
            foreach (var path in trusted.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                candidates.TryAdd(Path.GetFileNameWithoutExtension(path), path);
            }
        }

        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            // Assemblies loaded from elsewhere (a host's plugins) still count; the trusted list wins for a name in both.
            if (!assembly.IsDynamic && assembly.Location.Length > 0 && assembly.GetName().Name is { } name && IsRoot(name))
            {
                candidates.TryAdd(name, assembly.Location);
            }
        }

        var baseDir = AppContext.BaseDirectory;
        if (Directory.Exists(baseDir))
        {
            foreach (var path in Directory.EnumerateFiles(baseDir, "*.dll"))
            {
                candidates.TryAdd(Path.GetFileNameWithoutExtension(path), path);
            }
        }

        var host = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Queue<string>(candidates.Keys.Where(IsRoot));
        while (pending.TryDequeue(out var name))
        {
            if (host.ContainsKey(name) || framework.ContainsKey(name) || !candidates.TryGetValue(name, out var path)
                || !IsManagedAssembly(path))
            {
                continue;
            }

            host[name] = path;
            foreach (var referenced in ReadReferencedAssemblyNames(path))
            {
                pending.Enqueue(referenced);
            }
        }

        return host;

        static bool IsRoot(string name) =>
            name.StartsWith("Sirocco.", StringComparison.OrdinalIgnoreCase)
            || string.Equals(name, "KubernetesClient", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsManagedAssembly(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            return pe.HasMetadata && pe.GetMetadataReader().IsAssembly;
        }
        catch (Exception e) when (e is IOException or BadImageFormatException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static List<string> ReadReferencedAssemblyNames(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        var names = new List<string>();
        foreach (var handle in reader.AssemblyReferences)
        {
            names.Add(reader.GetString(reader.GetAssemblyReference(handle).Name));
        }

        return names;
    }

    private static Guid ReadMvidAndNamespaces(string path, HashSet<string> namespaces)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var reader = pe.GetMetadataReader();
        foreach (var handle in reader.TypeDefinitions)
        {
            var type = reader.GetTypeDefinition(handle);
            if ((type.Attributes & TypeAttributes.VisibilityMask) == TypeAttributes.Public)
            {
                namespaces.Add(reader.GetString(type.Namespace));
            }
        }

        return reader.GetGuid(reader.GetModuleDefinition().Mvid);
    }
}
