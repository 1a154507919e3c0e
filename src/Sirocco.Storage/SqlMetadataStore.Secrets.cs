using Sirocco.Masking;

namespace Sirocco.Storage;

/// <summary>Secrets at rest: Variable values and connection passwords and extras as Fernet tokens, as Airflow keeps them.</summary>
internal abstract partial class SqlMetadataStore
{
    /// <summary>The keys of <c>[core] fernet_key</c>; null stores new values in plain text (Airflow's behaviour without a key).</summary>
    internal Fernet? Cipher { get; set; }

    public async Task<int> RotateFernetKeyAsync(CancellationToken cancellationToken = default)
    {
        var cipher = Cipher ?? throw new SiroccoException("rotate-fernet-key: [core] fernet_key is not set");

        // Read through the key list, write with its first key; one transaction, so a failure changes nothing.
        var variables = Query(SqlVariableSelect + " WHERE is_encrypted <> 0", [], ReadVariable);
        var connections = Query(SqlConnectionSelect + " WHERE is_encrypted <> 0 OR is_extra_encrypted <> 0", [], ReadConnection);
        await using var conn = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var changed = 0;
        foreach (var v in variables)
        {
            changed += await ExecAsync(conn, tx, "UPDATE variable SET val = @v, is_encrypted = 1 WHERE key = @k", [("k", v.Key), ("v", cipher.Encrypt(v.Value))], cancellationToken).ConfigureAwait(false);
        }

        foreach (var c in connections)
        {
            changed += await ExecAsync(
                conn,
                tx,
                "UPDATE connection SET password = @pw, extra = @extra, is_encrypted = @enc, is_extra_encrypted = @xenc WHERE conn_id = @id",
                [("id", c.ConnId), ("pw", Seal(c.Password)), ("extra", Seal(c.Extra)), ("enc", c.Password is null ? 0 : 1), ("xenc", c.Extra is null ? 0 : 1)],
                cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return changed;
    }

    /// <summary>The value as stored: a Fernet token when there is a key, else the value itself.</summary>
    private string? Seal(string? value) => value is null || Cipher is null ? value : Cipher.Encrypt(value);

    /// <summary>The stored token of <paramref name="what"/> decrypted; an error naming it when no key decrypts it.</summary>
    private string Unseal(string token, string what) =>
        Cipher is null
            ? throw new SiroccoException($"{what} is encrypted, but [core] fernet_key is not set: set the key it was encrypted with")
            : Cipher.Decrypt(token)
                ?? throw new SiroccoException($"{what} cannot be decrypted with [core] fernet_key: it was encrypted with another key (to rotate, list the new key first and the old one after it)");
}
