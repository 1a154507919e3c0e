using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Sirocco.Storage;
using Sirocco.Web.Infrastructure;
using Sirocco.Web.Security;

namespace Sirocco.Web.Api;

/// <summary>Datasets as Airflow's <c>/api/v1/datasets</c> and <c>/api/v1/datasets/events</c> serve them: the URIs the loaded DAGs produce and consume, and their updates.</summary>
internal static class DatasetEndpoints
{
    private const string P = "/api/v1";

    public static void Register(ApiRegistry api, WebState state)
    {
        api.Add(
            new ApiRoute("GET", P + "/datasets", "get_datasets", "Dataset", "List the datasets the loaded DAGs update (outlets) or are scheduled on", Role.Viewer, "DatasetCollection",
                Query: [new("limit", "integer", "Most items returned (1-1000, default 100)"), new("offset", "integer", "Items skipped"), new("uri_pattern", "string", "Only URIs containing this text")]),
            async (ctx, _) =>
            {
                var (limit, offset) = ApiInput.Page(ctx);
                var pattern = ctx.Request.Query["uri_pattern"].ToString();
                var dags = state.Options.Dags().Values.ToList();
                var uris = dags.SelectMany(d => d.Tasks.SelectMany(t => t.Outlets)).Concat(dags.SelectMany(d => d.Schedule.DatasetUris))
                    .Distinct(StringComparer.Ordinal).Where(u => pattern.Length == 0 || u.Contains(pattern, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
                var items = new List<JsonObject>();
                foreach (var uri in uris.Skip(offset).Take(limit))
                {
                    var updates = await state.Store.ListDatasetUpdatesAsync(uri, 1, ctx.RequestAborted).ConfigureAwait(false);
                    items.Add(new JsonObject
                    {
                        ["uri"] = uri,
                        ["producing_tasks"] = new JsonArray([.. dags.SelectMany(d => d.Tasks.Where(t => t.Outlets.Contains(uri)).Select(t => (JsonNode)new JsonObject { ["dag_id"] = d.DagId, ["task_id"] = t.TaskId }))]),
                        ["consuming_dags"] = new JsonArray([.. dags.Where(d => d.Schedule.DatasetUris.Contains(uri)).Select(d => (JsonNode)new JsonObject { ["dag_id"] = d.DagId })]),
                        ["updated_at"] = updates.Count > 0 ? ApiJson.Iso(updates[0].Timestamp) : null,
                    });
                }

                return Results.Json(ApiJson.Collection("datasets", items, uris.Count));
            });
        api.Add(
            new ApiRoute("GET", P + "/datasets/events", "get_dataset_events", "Dataset", "List dataset updates, newest first", Role.Viewer, "DatasetEventCollection",
                Query: [new("limit", "integer", "Most items returned (1-1000, default 100)"), new("uri", "string", "Only this dataset")]),
            async (ctx, _) =>
            {
                var (limit, _) = ApiInput.Page(ctx);
                var uri = ctx.Request.Query["uri"].ToString() is { Length: > 0 } u ? u : null;
                var updates = await state.Store.ListDatasetUpdatesAsync(uri, limit, ctx.RequestAborted).ConfigureAwait(false);
                return Results.Json(ApiJson.Collection("dataset_events", updates.Select(Json), updates.Count));
            });
    }

    private static JsonObject Json(DatasetUpdate u) => new()
    {
        ["dataset_uri"] = u.Uri,
        ["source_dag_id"] = u.DagId,
        ["source_task_id"] = u.TaskId,
        ["source_run_id"] = u.RunId,
        ["source_map_index"] = u.MapIndex,
        ["timestamp"] = ApiJson.Iso(u.Timestamp),
    };
}
