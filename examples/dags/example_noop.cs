// A C# DAG file: dropped into the dags folder, compiled by the loader, it returns its DAGs.
// The tasks do nothing yet; the KubernetesPodOperator version mirrors the seed's four pods.
using Sirocco;

var start = new EmptyOperator("start");
var extract = new EmptyOperator("extract") { Retries = 2 };
var transform = new EmptyOperator("transform");
var load = new EmptyOperator("load");
var end = new EmptyOperator("end") { TriggerRule = TriggerRule.AllDone };

var dag = new Dag("example_noop")
{
    Description = "No-op tasks wired like a small ETL",
    Schedule = TimeSpan.FromDays(1),
    // Yesterday at midnight UTC (DateTimeOffset.UtcNow.Date is a DateTime that would convert with the local offset).
    StartDate = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(-1), TimeSpan.Zero),
    Catchup = false,
    Tags = ["example"],
    DefaultArgs = new() { ["owner"] = "sirocco", ["retry_delay"] = TimeSpan.FromMinutes(1) },
    Tasks = { start, extract, transform, load, end },
};

_ = start >> extract >> transform >> load >> end;

return dag;
