using System.Text.Json.Nodes;
using Sirocco.LocalCluster.Api;

namespace Sirocco.LocalCluster.Tests;

/// <summary>Object validation, checked against what the real API server (v1.20.2) answered for the same objects.</summary>
public sealed class ValidationTests
{
    [Fact]
    public void A_single_error_is_written_without_brackets()
    {
        var e = Invalid("pods", """{"metadata":{"name":"s","namespace":"n"},"spec":{"dnsPolicy":"Whatever","containers":[{"name":"c","image":"i"}]}}""");
        Assert.Equal("Pod \"s\" is invalid: spec.dnsPolicy: Unsupported value: \"Whatever\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"", e.Message);
        Assert.Equal("FieldValueNotSupported", Assert.Single(e.Causes).Type);
    }

    [Fact]
    public void Errors_come_in_the_real_servers_order()
    {
        var e = Invalid("pods", """{"metadata":{"name":"s","namespace":"n"},"spec":{"restartPolicy":"Sometimes","volumes":[{"name":"v","emptyDir":{},"hostPath":{"path":"/tmp"}}],"containers":[{"name":"c","image":"i","ports":[{"containerPort":70000}],"imagePullPolicy":"Sometimes"}],"initContainers":[{"name":"c","image":"i"}]}}""");
        Assert.Equal(
            ["spec.volumes[0].hostPath", "spec.containers[0].ports[0].containerPort", "spec.containers[0].imagePullPolicy", "spec.initContainers[0].name", "spec.restartPolicy"],
            e.Causes.Select(c => c.Field));
    }

    [Fact]
    public void Events_with_an_event_time_need_their_reporting_fields()
    {
        var e = Invalid("events", """{"metadata":{"name":"Upper","namespace":"n"},"involvedObject":{"namespace":"n"},"reason":"r","eventTime":"2026-01-01T00:00:00.000000Z"}""");
        Assert.Equal(["reportingController", "reportingController", "reportingController", "reportingInstance", "action"], e.Causes.Select(c => c.Field));
        Assert.Equal("Required value", e.Causes[0].Message);
    }

    [Fact]
    public void Event_names_are_only_path_segments()
    {
        Validation.Check(ResourceInfo.Find("", "events")!, Parse("""{"metadata":{"name":"Upper_case","namespace":"n"},"involvedObject":{"namespace":"n"}}"""));
        var e = Invalid("events", """{"metadata":{"name":"a%b","namespace":"n"},"involvedObject":{"namespace":"n"}}""");
        Assert.Equal("Event \"a%b\" is invalid: metadata.name: Invalid value: \"a%b\": may not contain '%'", e.Message);
    }

    [Fact]
    public void Label_errors_repeat_on_update_as_the_real_server_repeats_them()
    {
        var old = Parse("""{"metadata":{"name":"x","namespace":"n"},"data":{"k":"v"}}""");
        var e = Invalid("configmaps", """{"metadata":{"name":"x","namespace":"n","labels":{"a":"-"}},"data":{"k":"v"}}""", old);
        Assert.Equal(4, e.Causes.Count);
        Assert.All(e.Causes, c => Assert.Equal("metadata.labels", c.Field));
    }

    [Fact]
    public void Immutable_configmaps_keep_their_data()
    {
        var old = Parse("""{"metadata":{"name":"x","namespace":"n"},"immutable":true,"data":{"k":"v"}}""");
        var e = Invalid("configmaps", """{"metadata":{"name":"x","namespace":"n"},"immutable":false,"data":{"k":"w"}}""", old);
        Assert.Equal(["immutable", "data"], e.Causes.Select(c => c.Field));
        Assert.All(e.Causes, c => Assert.Equal("Forbidden: field is immutable when `immutable` is set", c.Message));
    }

    [Fact]
    public void A_generate_name_ending_in_a_dash_is_masked_as_v1_20_masks_it()
    {
        Validation.Check(ResourceInfo.Find("", "configmaps")!, Parse("""{"metadata":{"name":"x","generateName":"Q-","namespace":"n"}}"""));
        var e = Invalid("configmaps", """{"metadata":{"name":"x","generateName":"Bad_","namespace":"n"}}""");
        Assert.Equal("metadata.generateName", Assert.Single(e.Causes).Field);
    }

    [Fact]
    public void Extended_resources_are_whole_numbers()
    {
        var e = Invalid("pods", """{"metadata":{"name":"q","namespace":"n"},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"example.com/dongle":"500m"},"requests":{"example.com/dongle":"500m"}}}]}}""");
        Assert.Equal(
            "Pod \"q\" is invalid: [spec.containers[0].resources.limits[example.com/dongle]: Invalid value: resource.Quantity{i:resource.int64Amount{value:500, scale:-3}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"500m\", Format:\"DecimalSI\"}: must be an integer, spec.containers[0].resources.requests[example.com/dongle]: Invalid value: resource.Quantity{i:resource.int64Amount{value:500, scale:-3}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"500m\", Format:\"DecimalSI\"}: must be an integer]",
            e.Message);
    }

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    private static ApiException Invalid(string resource, string json, JsonObject? old = null)
    {
        var e = Assert.Throws<ApiException>(() => Validation.Check(ResourceInfo.Find("", resource)!, Parse(json), old));
        Assert.Equal(422, e.Code);
        return e;
    }
}
