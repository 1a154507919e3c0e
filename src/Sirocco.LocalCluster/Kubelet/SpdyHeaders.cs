using System.Buffers.Binary;
using System.Text;
using ICSharpCode.SharpZipLib.Zip.Compression;

namespace Sirocco.LocalCluster.Kubelet;

/// <summary>
/// SPDY/3 header blocks: name/value pairs with 32-bit lengths, compressed with zlib over one stream per connection and
/// direction, seeded with the protocol's dictionary. Reading inflates with SharpZipLib; writing sends stored
/// (uncompressed) deflate blocks, which any inflater reads and which need no compressor state.
/// </summary>
internal sealed class SpdyHeaders
{
    /// <summary>The SPDY/3 header dictionary: 65 length-prefixed words, then a run of common text (1,423 bytes).</summary>
    internal static readonly byte[] Dictionary = BuildDictionary();

    private readonly Inflater _inflater = new();
    private bool _wroteZlibHeader;

    private static byte[] BuildDictionary()
    {
        string[] words =
        [
            "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding", "accept-language",
            "accept-ranges", "age", "allow", "authorization", "cache-control", "connection", "content-base", "content-encoding",
            "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type", "date",
            "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
            "if-unmodified-since", "last-modified", "location", "max-forwards", "pragma", "proxy-authenticate",
            "proxy-authorization", "range", "referer", "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade",
            "user-agent", "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK", "version",
            "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
        ];
        const string Text =
            "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
            "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
            "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
            "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
            "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain," +
            "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
        using var buffer = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        foreach (var word in words)
        {
            BinaryPrimitives.WriteInt32BigEndian(length, word.Length);
            buffer.Write(length);
            buffer.Write(Encoding.ASCII.GetBytes(word));
        }

        buffer.Write(Encoding.ASCII.GetBytes(Text));
        return buffer.ToArray();
    }

    /// <summary>Decodes the next header block of the connection; throws <see cref="InvalidDataException"/> when it is not one.</summary>
    public Dictionary<string, string> Read(ReadOnlySpan<byte> block)
    {
        _inflater.SetInput(block.ToArray());
        using var plain = new MemoryStream();
        var chunk = new byte[4096];
        try
        {
            while (true)
            {
                var n = _inflater.Inflate(chunk);
                if (n > 0)
                {
                    plain.Write(chunk, 0, n);
                    continue;
                }

                if (_inflater.IsNeedingDictionary)
                {
                    _inflater.SetDictionary(Dictionary);
                    continue;
                }

                break;
            }
        }
        catch (ICSharpCode.SharpZipLib.SharpZipBaseException e)
        {
            throw new InvalidDataException("a SPDY header block does not inflate: " + e.Message, e);
        }

        return Parse(plain.ToArray());
    }

    private static Dictionary<string, string> Parse(ReadOnlySpan<byte> data)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (data.Length < 4)
        {
            throw new InvalidDataException("a SPDY header block is shorter than its pair count");
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(data);
        var at = 4;
        string Next(ReadOnlySpan<byte> d)
        {
            if (at + 4 > d.Length)
            {
                throw new InvalidDataException("a SPDY header block ends inside a length");
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(d[at..]);
            if (length < 0 || at + 4 + length > d.Length)
            {
                throw new InvalidDataException($"a SPDY header length {length} runs past the block");
            }

            var text = Encoding.UTF8.GetString(d.Slice(at + 4, length));
            at += 4 + length;
            return text;
        }

        for (var i = 0; i < count; i++)
        {
            var name = Next(data);
            headers[name] = Next(data);
        }

        return headers;
    }

    /// <summary>Encodes a header block for the next frame this side sends.</summary>
    public byte[] Write(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        using var plain = new MemoryStream();
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, headers.Count);
        plain.Write(word);
        foreach (var (name, value) in headers)
        {
            foreach (var text in new[] { name, value })
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                BinaryPrimitives.WriteInt32BigEndian(word, bytes.Length);
                plain.Write(word);
                plain.Write(bytes);
            }
        }

        var payload = plain.ToArray();
        using var block = new MemoryStream();
        if (!_wroteZlibHeader)
        {
            // zlib header: deflate with a 32 KiB window, a preset dictionary (FDICT), check bits; then the dictionary's id.
            const int Cmf = 0x78;
            var flags = 0x20;
            flags += (31 - (((Cmf << 8) + flags) % 31)) % 31;
            block.WriteByte(Cmf);
            block.WriteByte((byte)flags);
            BinaryPrimitives.WriteUInt32BigEndian(word, Adler32(Dictionary));
            block.Write(word);
            _wroteZlibHeader = true;
        }

        // One stored block, not the last: BFINAL 0, BTYPE 00, then LEN and its complement, little-endian.
        block.WriteByte(0);
        block.WriteByte((byte)payload.Length);
        block.WriteByte((byte)(payload.Length >> 8));
        block.WriteByte((byte)~payload.Length);
        block.WriteByte((byte)(~payload.Length >> 8));
        block.Write(payload);

        // An empty stored block, as zlib's sync flush ends with: Go's inflater hands out what it holds only on reaching
        // it, and without it would read past the frame for the next block and fail every later header block.
        block.Write([0, 0, 0, 0xff, 0xff]);
        return block.ToArray();
    }

    internal static uint Adler32(ReadOnlySpan<byte> data)
    {
        const uint Mod = 65521;
        uint a = 1, b = 0;
        foreach (var x in data)
        {
            a = (a + x) % Mod;
            b = (b + a) % Mod;
        }

        return (b << 16) | a;
    }
}
