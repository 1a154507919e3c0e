using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Api;

/// <summary>
/// Reads the Kubernetes protobuf encoding (<c>application/vnd.kubernetes.protobuf</c>) for the request
/// bodies kubectl's typed clients send (<c>kubectl create namespace|secret|configmap|serviceaccount</c>,
/// delete options) and turns them into the JSON form. Responses are always JSON, which clients accept.
/// </summary>
internal static class Protobuf
{
    public const string MediaType = "application/vnd.kubernetes.protobuf";

    private static readonly byte[] Magic = [0x6b, 0x38, 0x73, 0x00];

    private enum Kind
    {
        String,
        Bytes,
        Int,
        Bool,
        Message,
        StringList,
        MessageList,
        StringMap,
        BytesMap,
        Time,
    }

    private sealed record Field(string Name, Kind Kind, Dictionary<int, Field>? Schema = null);

    private static readonly Dictionary<int, Field> ObjectMeta = new()
    {
        [1] = new("name", Kind.String),
        [2] = new("generateName", Kind.String),
        [3] = new("namespace", Kind.String),
        [5] = new("uid", Kind.String),
        [6] = new("resourceVersion", Kind.String),
        [7] = new("generation", Kind.Int),
        [8] = new("creationTimestamp", Kind.Time),
        [11] = new("labels", Kind.StringMap),
        [12] = new("annotations", Kind.StringMap),
        [14] = new("finalizers", Kind.StringList),
    };

    private static readonly Dictionary<int, Field> ObjectReference = new()
    {
        [1] = new("kind", Kind.String),
        [2] = new("namespace", Kind.String),
        [3] = new("name", Kind.String),
        [4] = new("uid", Kind.String),
        [5] = new("apiVersion", Kind.String),
        [6] = new("resourceVersion", Kind.String),
        [7] = new("fieldPath", Kind.String),
    };

    private static readonly Dictionary<int, Field> PolicyRule = new()
    {
        [1] = new("verbs", Kind.StringList),
        [2] = new("apiGroups", Kind.StringList),
        [3] = new("resources", Kind.StringList),
        [4] = new("resourceNames", Kind.StringList),
        [5] = new("nonResourceURLs", Kind.StringList),
    };

    private static readonly Dictionary<int, Field> Binding = new()
    {
        [1] = new("metadata", Kind.Message, ObjectMeta),
        [2] = new("subjects", Kind.MessageList, new() { [1] = new("kind", Kind.String), [2] = new("apiGroup", Kind.String), [3] = new("name", Kind.String), [4] = new("namespace", Kind.String) }),
        [3] = new("roleRef", Kind.Message, new() { [1] = new("apiGroup", Kind.String), [2] = new("kind", Kind.String), [3] = new("name", Kind.String) }),
    };

    /// <summary>An access review: its spec's resource or non-resource attributes, and for another user its name and groups.</summary>
    private static Dictionary<int, Field> Review(bool otherUser)
    {
        var spec = new Dictionary<int, Field>
        {
            [1] = new("resourceAttributes", Kind.Message, new()
            {
                [1] = new("namespace", Kind.String),
                [2] = new("verb", Kind.String),
                [3] = new("group", Kind.String),
                [4] = new("version", Kind.String),
                [5] = new("resource", Kind.String),
                [6] = new("subresource", Kind.String),
                [7] = new("name", Kind.String),
            }),
            [2] = new("nonResourceAttributes", Kind.Message, new() { [1] = new("path", Kind.String), [2] = new("verb", Kind.String) }),
        };
        if (otherUser)
        {
            spec[3] = new("user", Kind.String);
            spec[4] = new("groups", Kind.StringList);
            spec[6] = new("uid", Kind.String);
        }

        return new() { [1] = new("metadata", Kind.Message, ObjectMeta), [2] = new("spec", Kind.Message, spec) };
    }

    private static readonly Dictionary<string, Dictionary<int, Field>> Kinds = new(StringComparer.Ordinal)
    {
        ["Namespace"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("spec", Kind.Message, new() { [1] = new("finalizers", Kind.StringList) }),
        },
        ["Secret"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("data", Kind.BytesMap),
            [3] = new("type", Kind.String),
            [4] = new("stringData", Kind.StringMap),
            [5] = new("immutable", Kind.Bool),
        },
        ["ConfigMap"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("data", Kind.StringMap),
            [3] = new("binaryData", Kind.BytesMap),
            [4] = new("immutable", Kind.Bool),
        },
        ["ServiceAccount"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("secrets", Kind.MessageList, ObjectReference),
            [3] = new("automountServiceAccountToken", Kind.Bool),
            [4] = new("imagePullSecrets", Kind.MessageList, new() { [1] = new("name", Kind.String) }),
        },
        ["Role"] = new() { [1] = new("metadata", Kind.Message, ObjectMeta), [2] = new("rules", Kind.MessageList, PolicyRule) },
        ["ClusterRole"] = new() { [1] = new("metadata", Kind.Message, ObjectMeta), [2] = new("rules", Kind.MessageList, PolicyRule) },
        ["RoleBinding"] = Binding,
        ["ClusterRoleBinding"] = Binding,
        ["TokenRequest"] = new()
        {
            [1] = new("metadata", Kind.Message, ObjectMeta),
            [2] = new("spec", Kind.Message, new()
            {
                [1] = new("audiences", Kind.StringList),
                [3] = new("boundObjectRef", Kind.Message, new() { [1] = new("kind", Kind.String), [2] = new("apiVersion", Kind.String), [3] = new("name", Kind.String), [4] = new("uid", Kind.String) }),
                [4] = new("expirationSeconds", Kind.Int),
            }),
        },
        ["SelfSubjectAccessReview"] = Review(false),
        ["SubjectAccessReview"] = Review(true),
        ["LocalSubjectAccessReview"] = Review(true),
        ["SelfSubjectRulesReview"] = new() { [1] = new("metadata", Kind.Message, ObjectMeta), [2] = new("spec", Kind.Message, new() { [1] = new("namespace", Kind.String) }) },
        ["DeleteOptions"] = new()
        {
            [1] = new("gracePeriodSeconds", Kind.Int),
            [2] = new("preconditions", Kind.Message, new() { [1] = new("uid", Kind.String), [2] = new("resourceVersion", Kind.String) }),
            [4] = new("propagationPolicy", Kind.String),
            [5] = new("dryRun", Kind.StringList),
        },
    };

    /// <summary>Decodes an enveloped object; throws a 415 for kinds it cannot read and a 400 for broken data.</summary>
    public static JsonObject Decode(byte[] body)
    {
        if (body.Length < 4 || !body.AsSpan(0, 4).SequenceEqual(Magic))
        {
            throw ApiException.BadRequest("provided protobuf object is missing the k8s envelope prefix");
        }

        try
        {
            var envelope = new Reader(body.AsMemory(4));
            string apiVersion = "", kind = "";
            ReadOnlyMemory<byte> raw = default;
            while (envelope.Next(out var number, out var wire))
            {
                if (number == 1 && wire == 2)
                {
                    var meta = new Reader(envelope.Bytes());
                    while (meta.Next(out var n, out var w))
                    {
                        if (n == 1 && w == 2)
                        {
                            apiVersion = meta.String();
                        }
                        else if (n == 2 && w == 2)
                        {
                            kind = meta.String();
                        }
                        else
                        {
                            meta.Skip(w);
                        }
                    }
                }
                else if (number == 2 && wire == 2)
                {
                    raw = envelope.Bytes();
                }
                else
                {
                    envelope.Skip(wire);
                }
            }

            if (!Kinds.TryGetValue(kind, out var schema))
            {
                throw new ApiException(415, "UnsupportedMediaType", $"the local cluster reads {kind} only as JSON: send application/json");
            }

            var obj = ReadMessage(new Reader(raw), schema);
            obj["kind"] = kind;
            obj["apiVersion"] = apiVersion;
            return obj;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or FormatException or InvalidOperationException or OverflowException)
        {
            throw ApiException.BadRequest("unable to decode protobuf body: " + e.Message);
        }
    }

    private static JsonObject ReadMessage(Reader reader, Dictionary<int, Field> schema)
    {
        var obj = new JsonObject();
        while (reader.Next(out var number, out var wire))
        {
            if (!schema.TryGetValue(number, out var field))
            {
                reader.Skip(wire);
                continue;
            }

            switch (field.Kind)
            {
                case Kind.String:
                    // Go writes every non-pointer string, empty or not; JSON omits the empty ones.
                    var text = reader.String();
                    if (text.Length > 0)
                    {
                        obj[field.Name] = text;
                    }

                    break;
                case Kind.Bytes:
                    obj[field.Name] = Convert.ToBase64String(reader.Bytes().Span);
                    break;
                case Kind.Int:
                    var number64 = (long)reader.Varint();
                    if (number64 != 0 || field.Name != "generation")
                    {
                        obj[field.Name] = number64;
                    }

                    break;
                case Kind.Bool:
                    obj[field.Name] = reader.Varint() != 0;
                    break;
                case Kind.Message:
                    obj[field.Name] = ReadMessage(new Reader(reader.Bytes()), field.Schema!);
                    break;
                case Kind.StringList:
                    Append(obj, field.Name, reader.String());
                    break;
                case Kind.MessageList:
                    Append(obj, field.Name, ReadMessage(new Reader(reader.Bytes()), field.Schema!));
                    break;
                case Kind.StringMap:
                case Kind.BytesMap:
                    var entry = new Reader(reader.Bytes());
                    string key = "";
                    JsonNode value = "";
                    while (entry.Next(out var n, out var w))
                    {
                        if (n == 1)
                        {
                            key = entry.String();
                        }
                        else if (n == 2)
                        {
                            value = field.Kind == Kind.StringMap ? entry.String() : Convert.ToBase64String(entry.Bytes().Span);
                        }
                        else
                        {
                            entry.Skip(w);
                        }
                    }

                    if (obj[field.Name] is not JsonObject map)
                    {
                        map = [];
                        obj[field.Name] = map;
                    }

                    map[key] = value;
                    break;
                case Kind.Time:
                    var time = new Reader(reader.Bytes());
                    long seconds = 0;
                    while (time.Next(out var n, out var w))
                    {
                        if (n == 1)
                        {
                            seconds = (long)time.Varint();
                        }
                        else
                        {
                            time.Skip(w);
                        }
                    }

                    obj[field.Name] = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                    break;
            }
        }

        return obj;
    }

    private static void Append(JsonObject obj, string name, JsonNode value)
    {
        if (obj[name] is not JsonArray list)
        {
            list = [];
            obj[name] = list;
        }

        list.Add(value);
    }

    private sealed class Reader(ReadOnlyMemory<byte> data)
    {
        private int _position;

        public bool Next(out int number, out int wire)
        {
            if (_position >= data.Length)
            {
                number = 0;
                wire = 0;
                return false;
            }

            var tag = Varint();
            number = (int)(tag >> 3);
            wire = (int)(tag & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= data.Length)
                {
                    throw new FormatException("the data ends inside a varint");
                }

                var b = data.Span[_position++];
                result |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }
            }

            throw new FormatException("varint too long");
        }

        public ReadOnlyMemory<byte> Bytes()
        {
            var length = checked((int)Varint());
            var slice = data.Slice(_position, length);
            _position += length;
            return slice;
        }

        public string String() => Encoding.UTF8.GetString(Bytes().Span);

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0:
                    Varint();
                    break;
                case 1:
                    _position += 8;
                    break;
                case 2:
                    Bytes();
                    break;
                case 5:
                    _position += 4;
                    break;
                default:
                    throw new FormatException($"unsupported wire type {wire}");
            }
        }
    }
}
