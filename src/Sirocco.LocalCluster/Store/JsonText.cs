using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sirocco.LocalCluster.Store;

/// <summary>
/// How the cluster writes JSON: quotes as <c>\"</c> and non-ASCII text as it is, like the real API server, instead of
/// System.Text.Json's default <c>\u0022</c> escapes. Responses are always <c>application/json</c>, never HTML.
/// </summary>
internal static class JsonText
{
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
