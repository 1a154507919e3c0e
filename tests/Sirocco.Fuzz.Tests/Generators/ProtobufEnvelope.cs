using System.Text;

namespace Sirocco.Fuzz;

/// <summary>
/// Writes a ConfigMap or a Secret in the Kubernetes protobuf encoding (<c>k8s\0</c>, then an <c>Unknown</c> envelope
/// with the type and the raw object), as kubectl's typed clients send them, and breaks such bytes: flipped and inserted
/// bytes, cut messages, lengths and varints far too large.
/// </summary>
internal static class ProtobufEnvelope
{
    /// <summary>The media type of the encoding.</summary>
    public const string MediaType = "application/vnd.kubernetes.protobuf";

    /// <summary>A valid ConfigMap (<paramref name="secret"/> false) or Secret named <paramref name="name"/>.</summary>
    public static byte[] Object(string name, bool secret, IReadOnlyDictionary<string, string> data)
    {
        var metadata = Concat(Text(1, name), Message(11, Concat(Text(1, "app"), Text(2, "fuzz"))));
        var entries = data.Select(e => Message(2, Concat(Text(1, e.Key), Text(2, e.Value)))).ToArray();
        var body = Concat([Message(1, metadata), .. entries, secret ? Text(3, "Opaque") : [], Concat(Tag(secret ? 5 : 4, 0), [0])]);
        var type = Concat(Text(1, "v1"), Text(2, secret ? "Secret" : "ConfigMap"));
        return Concat([0x6b, 0x38, 0x73, 0x00], Message(1, type), Message(2, body));
    }

    /// <summary>A broken copy of <paramref name="bytes"/>.</summary>
    public static byte[] Mutate(Random random, byte[] bytes)
    {
        var list = bytes.ToList();
        for (var i = random.Next(1, 4); i > 0 && list.Count > 0; i--)
        {
            var at = random.Next(list.Count);
            switch (random.Next(5))
            {
                case 0:
                    list[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    list.InsertRange(at, Enumerable.Range(0, random.Next(1, 9)).Select(_ => (byte)random.Next(256)));
                    break;
                case 2:
                    list.RemoveRange(at, list.Count - at);
                    break;
                case 3:
                    list.InsertRange(at, Varint(random.Next(2) == 0 ? ulong.MaxValue : (ulong)random.NextInt64()));
                    break;
                default:
                    list.RemoveAt(at);
                    break;
            }
        }

        return [.. list];
    }

    private static byte[] Text(int number, string value) => Message(number, Encoding.UTF8.GetBytes(value));

    private static byte[] Message(int number, byte[] payload) => Concat(Tag(number, 2), Varint((ulong)payload.Length), payload);

    private static byte[] Tag(int number, int wire) => Varint((ulong)((number << 3) | wire));

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
