using System.Globalization;
using Sirocco.NodeSimulator;

// sirocco-node-simulator --kubeconfig FILE [--node-name NAME] [--bind true|false] [--default-run-for SECONDS]
//                        [--scheduler-name NAME] [--workers N] [--pods N]
// Runs until SIGTERM or SIGINT.
var options = SimulatorOptions.Parse(args);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGTERM,
    ctx =>
    {
        ctx.Cancel = true;
        stop.Cancel();
    });

var simulator = new NodeSimulator(options);
try
{
    await simulator.RunAsync(stop.Token);
    return 0;
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"node simulator: {e}"));
    return 1;
}
