using Microsoft.AspNetCore.Builder;

namespace Sirocco.Testing;

/// <summary>The Cloud Storage JSON API of the fake (filled in with remote logging).</summary>
public sealed partial class FakeGoogle
{
    private static void MapStorage(WebApplication app) => _ = app;

    private static void MapSecretManager(WebApplication app) => _ = app;
}
