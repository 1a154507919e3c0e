using System.Diagnostics;
using Sirocco.Masking;

namespace Sirocco.Core.Tests;

public class FernetTests
{
    [Fact]
    public void The_specifications_test_vector_encrypts_and_decrypts_exactly()
    {
        // github.com/fernet/spec, generate.json and verify.json.
        var fernet = Fernet.FromKeys("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=");
        var iv = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        const string Token = "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==";

        Assert.Equal(Token, fernet.Encrypt("hello"u8.ToArray(), iv, DateTimeOffset.Parse("1985-10-26T01:20:00-07:00", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("hello", fernet.Decrypt(Token));
    }

    [Fact]
    public void Rotation_encrypts_with_the_first_key_and_decrypts_with_any_and_a_foreign_or_altered_token_is_refused()
    {
        var oldKey = Fernet.GenerateKey();
        var newKey = Fernet.GenerateKey();
        var before = Fernet.FromKeys(oldKey).Encrypt("s3cret-ü");
        var rotated = Fernet.FromKeys($"{newKey}, {oldKey}");

        Assert.Equal("s3cret-ü", rotated.Decrypt(before));
        var after = rotated.Encrypt("s3cret-ü");
        Assert.Equal("s3cret-ü", Fernet.FromKeys(newKey).Decrypt(after));
        Assert.Null(Fernet.FromKeys(oldKey).Decrypt(after));
        var altered = after[..20] + (after[20] == 'A' ? 'B' : 'A') + after[21..];
        Assert.Null(rotated.Decrypt(altered));
        Assert.Null(rotated.Decrypt("not a token"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("c2hvcnQ=")]
    [InlineData("!!!!")]
    public void A_bad_key_is_refused_without_showing_it(string key)
    {
        var e = Assert.Throws<SiroccoException>(() => Fernet.FromKeys(key));
        Assert.Contains("[core] fernet_key", e.Message, StringComparison.Ordinal);
        if (key.Length > 0)
        {
            Assert.DoesNotContain(key, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Tokens_interoperate_with_pythons_cryptography_fernet_as_airflow_uses_it()
    {
        var key = Fernet.GenerateKey();
        var ours = Fernet.FromKeys(key).Encrypt("from sirocco");
        const string Script = """
            import sys
            from cryptography.fernet import Fernet
            f = Fernet(sys.argv[1].encode())
            print(f.decrypt(sys.argv[2].encode()).decode())
            print(f.encrypt(b"from python").decode())
            """;
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", Script, key, ours })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("from sirocco", lines[0]);
        Assert.Equal("from python", Fernet.FromKeys(key).Decrypt(lines[1]));
    }
}
