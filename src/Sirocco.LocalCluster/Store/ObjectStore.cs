using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Sirocco.LocalCluster.Api;

namespace Sirocco.LocalCluster.Store;

/// <summary>
/// The cluster's state: every object by resource, namespace and name, one global resource version,
/// a window of recent changes for watches, and write-behind persistence to SQLite.
/// </summary>
internal sealed class ObjectStore : IDisposable
{
    private const int EventWindow = 10_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, SortedDictionary<string, StoredObject>> _byResource = new(StringComparer.Ordinal);
    private readonly StoreEvent?[] _window = new StoreEvent?[EventWindow];
    private readonly List<StoreWatcher> _watchers = [];
    private readonly SqlitePersistence? _persistence;
    private long _windowCount;
    private long _resourceVersion;
    private long _oldestWindowVersion;

    public ObjectStore(SqlitePersistence? persistence)
    {
        _persistence = persistence;
        if (persistence is null)
        {
            return;
        }

        var (objects, version) = persistence.Load();
        foreach (var (resource, json) in objects)
        {
            var obj = JsonNode.Parse(json)!.AsObject();
            var rv = long.TryParse(Meta.Get(obj, "resourceVersion"), out var parsed) ? parsed : 0;
            var stored = Freeze(resource, obj, rv);
            Bucket(resource)[stored.Key] = stored;
            version = Math.Max(version, rv);
        }

        _resourceVersion = version;
        _oldestWindowVersion = version;
    }

    /// <summary>The newest resource version handed out.</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    public StoredObject? Get(string resource, string ns, string name)
    {
        lock (_gate)
        {
            return Bucket(resource).GetValueOrDefault(ns + "/" + name);
        }
    }

    /// <summary>All objects of a resource (in one namespace when given), sorted by namespace and name.</summary>
    public (List<StoredObject> Items, long ResourceVersion) List(string resource, string? ns)
    {
        lock (_gate)
        {
            var bucket = Bucket(resource);
            var items = ns is null
                ? [.. bucket.Values]
                : bucket.Values.Where(o => o.Namespace == ns).ToList();
            return (items, _resourceVersion);
        }
    }

    public StoredObject Create(string resource, JsonObject obj)
    {
        var index = Index(resource, obj);
        lock (_gate)
        {
            var ns = Meta.Get(obj, "namespace") ?? "";
            var name = Meta.Get(obj, "name") ?? "";
            var bucket = Bucket(resource);
            if (bucket.ContainsKey(ns + "/" + name))
            {
                throw ApiException.AlreadyExists(resource, name);
            }

            return Commit(StoreEventType.Added, resource, obj, index);
        }
    }

    /// <summary>
    /// Reads the current object, lets <paramref name="change"/> produce the next version and stores it. The change
    /// runs outside the store's lock on a copy; when another write got in first it runs again on the new state, so
    /// it must have no side effects. It may throw an <see cref="ApiException"/>.
    /// </summary>
    public StoredObject Update(string resource, string ns, string name, Func<JsonObject, JsonObject> change) =>
        TryUpdate(resource, ns, name, change) ?? throw ApiException.NotFound(resource, name);

    /// <summary>Like <see cref="Update"/> but returns null (and writes nothing) when the object is gone or the change returns null.</summary>
    public StoredObject? TryUpdate(string resource, string ns, string name, Func<JsonObject, JsonObject?> change)
    {
        var key = ns + "/" + name;
        while (true)
        {
            var current = Get(resource, ns, name);
            if (current is null)
            {
                return null;
            }

            var next = change(current.ToJson());
            if (next is null)
            {
                return null;
            }

            var index = Index(resource, next);
            lock (_gate)
            {
                if (!ReferenceEquals(Bucket(resource).GetValueOrDefault(key), current))
                {
                    continue;
                }

                return Commit(StoreEventType.Modified, resource, next, index);
            }
        }
    }

    /// <summary>Removes an object; <paramref name="precondition"/> may throw to refuse.</summary>
    public StoredObject Delete(string resource, string ns, string name, Action<StoredObject>? precondition = null)
    {
        lock (_gate)
        {
            var bucket = Bucket(resource);
            var current = bucket.GetValueOrDefault(ns + "/" + name) ?? throw ApiException.NotFound(resource, name);
            precondition?.Invoke(current);
            bucket.Remove(current.Key);
            var obj = current.ToJson();
            var stored = Stamp(resource, obj, (new Dictionary<string, string>(current.Labels), new Dictionary<string, string>(current.Fields)));
            Publish(new StoreEvent(StoreEventType.Deleted, stored));
            _persistence?.Enqueue(new PersistOp(resource, stored.Namespace, stored.Name, null, _resourceVersion));
            return stored;
        }
    }

    /// <summary>
    /// Starts a watch of one resource. With <paramref name="fromVersion"/> null the watch first receives the
    /// current objects as Added events; otherwise it receives every change after that version, or throws
    /// Gone when the version is older than the retained window.
    /// </summary>
    public StoreWatcher Watch(string resource, long? fromVersion)
    {
        lock (_gate)
        {
            var watcher = new StoreWatcher(this, resource);
            if (fromVersion is null)
            {
                foreach (var item in Bucket(resource).Values)
                {
                    watcher.Offer(new StoreEvent(StoreEventType.Added, item));
                }
            }
            else
            {
                var from = fromVersion.Value;
                if (from < _oldestWindowVersion)
                {
                    throw ApiException.Gone($"too old resource version: {from} ({_oldestWindowVersion})");
                }

                var start = Math.Max(0, _windowCount - EventWindow);
                for (var i = start; i < _windowCount; i++)
                {
                    var e = _window[i % EventWindow]!;
                    if (e.Object.ResourceVersion > from && e.Object.Resource == resource)
                    {
                        watcher.Offer(e);
                    }
                }
            }

            watcher.StartVersion = _resourceVersion;
            _watchers.Add(watcher);
            return watcher;
        }
    }

    internal void Unwatch(StoreWatcher watcher)
    {
        lock (_gate)
        {
            _watchers.Remove(watcher);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var w in _watchers)
            {
                w.Complete();
            }

            _watchers.Clear();
        }

        _persistence?.Dispose();
    }

    private StoredObject Commit(StoreEventType type, string resource, JsonObject obj, (Dictionary<string, string> Labels, Dictionary<string, string> Fields) index)
    {
        var stored = Stamp(resource, obj, index);
        var bucket = Bucket(resource);
        var previous = type == StoreEventType.Modified ? bucket.GetValueOrDefault(stored.Key) : null;
        bucket[stored.Key] = stored;
        Publish(new StoreEvent(type, stored, previous));
        _persistence?.Enqueue(new PersistOp(resource, stored.Namespace, stored.Name, stored.Json, _resourceVersion));
        return stored;
    }

    private StoredObject Stamp(string resource, JsonObject obj, (Dictionary<string, string> Labels, Dictionary<string, string> Fields) index)
    {
        var rv = ++_resourceVersion;
        Meta.Of(obj)["resourceVersion"] = rv.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var json = JsonSerializer.SerializeToUtf8Bytes(obj, JsonText.Options);
        return new StoredObject(resource, index.Fields["metadata.namespace"], index.Fields["metadata.name"], rv, json, index.Labels, index.Fields);
    }

    private void Publish(StoreEvent e)
    {
        var slot = _windowCount % EventWindow;
        if (_windowCount >= EventWindow)
        {
            _oldestWindowVersion = _window[slot]!.Object.ResourceVersion;
        }

        _window[slot] = e;
        _windowCount++;
        foreach (var w in _watchers)
        {
            if (w.Resource == e.Object.Resource)
            {
                w.Offer(e);
            }
        }
    }

    private SortedDictionary<string, StoredObject> Bucket(string resource)
    {
        if (!_byResource.TryGetValue(resource, out var bucket))
        {
            bucket = new SortedDictionary<string, StoredObject>(StringComparer.Ordinal);
            _byResource[resource] = bucket;
        }

        return bucket;
    }

    /// <summary>What selectors need of an object; computed outside the lock (it does not depend on the version).</summary>
    private static (Dictionary<string, string> Labels, Dictionary<string, string> Fields) Index(string resource, JsonObject obj)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Meta.Of(obj)["labels"] is JsonObject l)
        {
            foreach (var (k, v) in l)
            {
                labels[k] = Meta.Str(v) ?? "";
            }
        }

        return (labels, FieldIndex.Extract(resource, obj));
    }

    private static StoredObject Freeze(string resource, JsonObject obj, long rv)
    {
        var (labels, fields) = Index(resource, obj);
        var json = JsonSerializer.SerializeToUtf8Bytes(obj, JsonText.Options);
        return new StoredObject(resource, fields["metadata.namespace"], fields["metadata.name"], rv, json, labels, fields);
    }
}

/// <summary>One subscriber to a resource's changes.</summary>
internal sealed class StoreWatcher : IDisposable
{
    private readonly ObjectStore _store;
    private readonly Channel<StoreEvent> _channel = Channel.CreateUnbounded<StoreEvent>(new UnboundedChannelOptions { SingleReader = true });

    public StoreWatcher(ObjectStore store, string resource)
    {
        _store = store;
        Resource = resource;
    }

    public string Resource { get; }

    /// <summary>The store's resource version when the watch began.</summary>
    public long StartVersion { get; set; }

    public ChannelReader<StoreEvent> Events => _channel.Reader;

    internal void Offer(StoreEvent e) => _channel.Writer.TryWrite(e);

    internal void Complete() => _channel.Writer.TryComplete();

    public void Dispose()
    {
        _store.Unwatch(this);
        Complete();
    }
}
