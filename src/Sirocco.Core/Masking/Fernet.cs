using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Sirocco.Masking;

/// <summary>
/// Fernet tokens (the format Airflow keeps connection passwords, extras and Variables in, with <c>[core] fernet_key</c>):
/// AES-128-CBC with PKCS#7 padding, authenticated with HMAC-SHA256, version byte 0x80 and a timestamp, all URL-safe
/// base64. Several keys make a rotation list, as Airflow's MultiFernet: the first encrypts, any decrypts. Values
/// encrypted by Airflow decrypt here and the other way round.
/// </summary>
public sealed class Fernet
{
    private const byte Version = 0x80;
    private const int HeaderLength = 1 + 8 + 16;
    private const int MacLength = 32;
    private readonly IReadOnlyList<(byte[] Signing, byte[] Encryption)> _keys;
    private readonly TimeProvider _time;

    private Fernet(IReadOnlyList<(byte[] Signing, byte[] Encryption)> keys, TimeProvider time)
    {
        _keys = keys;
        _time = time;
    }

    /// <summary>
    /// The keys of <paramref name="keyList"/> (comma-separated URL-safe base64 keys of 32 bytes, as
    /// <c>[core] fernet_key</c> holds them); the first one encrypts.
    /// </summary>
    /// <exception cref="SiroccoException">A key is not 32 bytes of URL-safe base64 (the key itself is not shown).</exception>
    public static Fernet FromKeys(string keyList, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(keyList);
        var keys = new List<(byte[], byte[])>();
        var parts = keyList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var raw = TryDecode(parts[i]);
            if (raw is not { Length: 32 })
            {
                throw new SiroccoException($"[core] fernet_key: key {i + 1} of {parts.Length} is not 32 bytes of URL-safe base64 (Fernet key must be 32 url-safe base64-encoded bytes)");
            }

            keys.Add((raw[..16], raw[16..]));
        }

        if (keys.Count == 0)
        {
            throw new SiroccoException("[core] fernet_key is empty");
        }

        return new Fernet(keys, time ?? TimeProvider.System);
    }

    /// <summary>A new random key, in the form <c>[core] fernet_key</c> takes.</summary>
    public static string GenerateKey() => Encode(RandomNumberGenerator.GetBytes(32));

    /// <summary>Encrypts <paramref name="plaintext"/> with the first key.</summary>
    public string Encrypt(string plaintext) => Encrypt(Encoding.UTF8.GetBytes(plaintext), RandomNumberGenerator.GetBytes(16), _time.GetUtcNow());

    /// <summary>Decrypts a token made with any of the keys; null when none of them made it or it was altered.</summary>
    public string? Decrypt(string token)
    {
        var data = TryDecode(token);
        if (data is null || data.Length < HeaderLength + 16 + MacLength || data[0] != Version || (data.Length - HeaderLength - MacLength) % 16 != 0)
        {
            return null;
        }

        var signed = data.AsSpan(0, data.Length - MacLength);
        var mac = data.AsSpan(data.Length - MacLength);
        foreach (var (signing, encryption) in _keys)
        {
            if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(signing, signed), mac))
            {
                continue;
            }

            using var aes = Aes.Create();
            aes.Key = encryption;
            try
            {
                var plain = aes.DecryptCbc(data.AsSpan(HeaderLength, data.Length - HeaderLength - MacLength), data.AsSpan(9, 16), PaddingMode.PKCS7);
                return Encoding.UTF8.GetString(plain);
            }
            catch (CryptographicException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>Encrypts with a given IV and time (for the specification's test vectors).</summary>
    internal string Encrypt(byte[] plaintext, byte[] iv, DateTimeOffset now)
    {
        var (signing, encryption) = _keys[0];
        using var aes = Aes.Create();
        aes.Key = encryption;
        var cipher = aes.EncryptCbc(plaintext, iv, PaddingMode.PKCS7);
        var token = new byte[HeaderLength + cipher.Length + MacLength];
        token[0] = Version;
        BinaryPrimitives.WriteUInt64BigEndian(token.AsSpan(1, 8), (ulong)now.ToUnixTimeSeconds());
        iv.CopyTo(token, 9);
        cipher.CopyTo(token, HeaderLength);
        HMACSHA256.HashData(signing, token.AsSpan(0, HeaderLength + cipher.Length), token.AsSpan(HeaderLength + cipher.Length));
        return Encode(token);
    }

    private static string Encode(byte[] data) => Convert.ToBase64String(data).Replace('+', '-').Replace('/', '_');

    private static byte[]? TryDecode(string text)
    {
        var s = text.Trim().Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
