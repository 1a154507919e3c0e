using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Store;

/// <summary>One object as stored: its serialized JSON plus what selectors need, never mutated after storing.</summary>
internal sealed class StoredObject
{
    public StoredObject(string resource, string ns, string name, long resourceVersion, byte[] json,
        IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string> fields)
    {
        Resource = resource;
        Namespace = ns;
        Name = name;
        ResourceVersion = resourceVersion;
        Json = json;
        Labels = labels;
        Fields = fields;
    }

    public string Resource { get; }

    public string Namespace { get; }

    public string Name { get; }

    public long ResourceVersion { get; }

    public byte[] Json { get; }

    public IReadOnlyDictionary<string, string> Labels { get; }

    public IReadOnlyDictionary<string, string> Fields { get; }

    public string Key => Namespace + "/" + Name;

    /// <summary>A fresh mutable copy of the object.</summary>
    public JsonObject ToJson() => JsonNode.Parse(Json)!.AsObject();
}

internal enum StoreEventType
{
    Added,
    Modified,
    Deleted,
}

/// <summary>A change to one object; its resource version is the object's after the change. <paramref name="Previous"/>
/// is the object before a modification (a watch filtered by selectors reports an object leaving it as it was).</summary>
internal sealed record StoreEvent(StoreEventType Type, StoredObject Object, StoredObject? Previous = null);
