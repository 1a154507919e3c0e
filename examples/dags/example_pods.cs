// Two pods on whatever cluster the kubernetes_default connection names (the local cluster under standalone):
// the first writes a result to /airflow/xcom/return.json, the second reads it through a template.
// Try it: sirocco dags test example_pods
using Sirocco;
using Sirocco.Kubernetes;

var produce = new KubernetesPodOperator("produce")
{
    Name = "produce",
    Namespace = "default",
    Image = "bash",
    Cmds = ["sh", "-c"],
    Arguments = ["echo producing for {{ ds }}; echo '{\"rows\": 42}' > /airflow/xcom/return.json"],
    DoXcomPush = true,
};

var consume = new KubernetesPodOperator("consume")
{
    Name = "consume",
    Namespace = "default",
    Image = "bash",
    Cmds = ["sh", "-c"],
    Arguments = ["echo consumed {{ ti.xcom_pull(task_ids='produce')['rows'] }} rows"],
};

var dag = new Dag("example_pods")
{
    Description = "A pod pushes an XCom, a second pod pulls it",
    Schedule = "@daily",
    StartDate = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(-1), TimeSpan.Zero),
    Catchup = false,
    Tags = ["example", "kubernetes"],
    Tasks = { produce, consume },
};

_ = produce >> consume;

return dag;
