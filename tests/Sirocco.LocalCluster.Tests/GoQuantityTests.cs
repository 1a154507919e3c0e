using System.Text.Json.Nodes;

namespace Sirocco.LocalCluster.Tests;

/// <summary>Quantities written as the real server (v1.20.2) wrote them: as a plain quantity (an emptyDir's sizeLimit) and in a resource list (a container's limits).</summary>
public sealed class GoQuantityTests
{
    [Theory]
    [InlineData("1000m", "1", "1")]
    [InlineData("10G", "10G", "10G")]
    [InlineData("10Gi", "10Gi", "10Gi")]
    [InlineData("0.5", "500m", "500m")]
    [InlineData("1e3", "1e3", "1e3")]
    [InlineData("1E3", "1E3", "1E3")]
    [InlineData("2E", "2E", "2E")]
    [InlineData("12345678901234567890", "12345678901234567890", "12345678901234567890")]
    [InlineData("1m", "1m", "1m")]
    [InlineData("0.1m", "100u", "1m")]
    [InlineData("+1", "+1", "+1")]
    [InlineData("1.5", "1500m", "1500m")]
    [InlineData("1.5Gi", "1536Mi", "1536Mi")]
    [InlineData("0.5Ki", "512", "512")]
    [InlineData("8Ki", "8Ki", "8Ki")]
    [InlineData("1024", "1024", "1024")]
    [InlineData("1023Ki", "1023Ki", "1023Ki")]
    [InlineData("100M", "100M", "100M")]
    [InlineData("1000", "1k", "1k")]
    [InlineData("1000k", "1M", "1M")]
    [InlineData("0.001", "1m", "1m")]
    [InlineData("0.0001", "100u", "1m")]
    [InlineData("1n", "1n", "1m")]
    [InlineData("100u", "100u", "1m")]
    [InlineData("1e-3", "1e-3", "1e-3")]
    [InlineData("1.e3", "1.e3", "1.e3")]
    [InlineData(".5", "500m", "500m")]
    [InlineData("00.50", "500m", "500m")]
    [InlineData("1.5e2", "150", "150")]
    [InlineData("2048Ki", "2Mi", "2Mi")]
    [InlineData("1.0", "1", "1")]
    [InlineData("10.00Mi", "10Mi", "10Mi")]
    [InlineData("123456789012345678", "123456789012345678", "123456789012345678")]
    [InlineData("1234567890123456789", "1234567890123456789", "1234567890123456789")]
    [InlineData("5e20", "500e18", "500e18")]
    [InlineData("3Ei", "3Ei", "3Ei")]
    [InlineData("1.000001", "1.000001", "1001m")]
    [InlineData("500m", "500m", "500m")]
    [InlineData("250000n", "250u", "1m")]
    public void Canonical_forms_are_the_real_servers(string input, string plain, string inResourceList)
    {
        Assert.Equal(plain, Api.GoQuantity.Canonical(input));
        Assert.Equal(inResourceList, Api.GoQuantity.Canonical(input, resourceList: true));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("1.5.5")]
    [InlineData("10gi")]
    [InlineData("0x10")]
    [InlineData("1 Gi")]
    [InlineData("1Ki5")]
    public void Non_quantities_are_rejected(string input) => Assert.Null(Api.GoQuantity.Canonical(input));

    [Fact]
    public void Negative_quantities_keep_their_sign() => Assert.Equal("-1", Api.GoQuantity.Canonical("-0.000000000000000001E", resourceList: true));

    [Fact]
    public void A_decoded_pod_gets_its_quantities_from_the_clients_text()
    {
        var input = JsonNode.Parse("""{"spec":{"containers":[{"resources":{"requests":{"cpu":"0.1m","memory":" 1Gi "},"limits":{"cpu":2}}}],"volumes":[{"emptyDir":{"sizeLimit":"1000m"}}]}}""")!.AsObject();
        var decoded = JsonNode.Parse("""{"spec":{"containers":[{"resources":{"requests":{"cpu":"100u","memory":"1Gi"},"limits":{"cpu":"2"}}}],"volumes":[{"emptyDir":{"sizeLimit":"1"}}]}}""")!.AsObject();
        Assert.Null(Api.GoQuantity.RewritePod(input, decoded));
        Assert.Equal("""{"spec":{"containers":[{"resources":{"requests":{"cpu":"1m","memory":"1Gi"},"limits":{"cpu":"2"}}}],"volumes":[{"emptyDir":{"sizeLimit":"1"}}]}}""", decoded.ToJsonString());

        var bad = JsonNode.Parse("""{"spec":{"containers":[{"resources":{"limits":{"memory":"1 Gi"}}}]}}""")!.AsObject();
        Assert.Equal("1 Gi", Api.GoQuantity.RewritePod(bad, bad.DeepClone().AsObject()));
    }
}
