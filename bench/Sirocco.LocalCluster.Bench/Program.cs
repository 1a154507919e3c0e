using Sirocco.LocalCluster;

if (args is ["serve", var home])
{
    await using var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { HomeDirectory = home });
    Console.WriteLine($"serving {cluster.ServerUrl} kubeconfig {cluster.KubeconfigPath}");
    var done = new TaskCompletionSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; done.TrySetResult(); };
    await done.Task;
    return 0;
}

return 0;
