using System.Diagnostics;
using Sirocco.Google;
using Sirocco.Testing;

/// <summary>
/// The cost of remote task logs: N task logs of 32 KiB uploaded at once to Cloud Storage (the fake on loopback) with
/// Google.Cloud.Storage.V1, as the scheduler uploads each try's log when it ends.
/// </summary>
internal static class LogUploads
{
    public static async Task RunAsync(FakeGoogle google, GoogleCloud cloud, int count, Env env)
    {
        var folder = Directory.CreateTempSubdirectory("sirocco-bench-logs-").FullName;
        try
        {
            var line = "[2026-12-06T20:00:00.000+0000] {INFO} " + new string('x', 90) + "\n";
            var text = string.Concat(Enumerable.Repeat(line, 32 * 1024 / line.Length));
            var files = Enumerable.Range(0, count).Select(i => Path.Combine(folder, $"bench/t{i}/2026-12-06T00:00:00+00:00/1.log")).ToList();
            foreach (var f in files)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(f)!);
                await File.WriteAllTextAsync(f, text);
            }

            var logs = new GcsTaskLogs(cloud, env.Context("logs", 1, _ => { }).Connections, "gs://bench-bucket/logs", null);
            await logs.UploadAsync(files[0], Path.GetRelativePath(folder, files[0]), CancellationToken.None); // warm-up
            var before = google.Requests("storage-upload") + google.Requests("storage-upload-chunk");
            var times = new double[count];
            var sw = Stopwatch.StartNew();
            await Task.WhenAll(files.Select(async (f, i) =>
            {
                var one = Stopwatch.StartNew();
                await logs.UploadAsync(f, Path.GetRelativePath(folder, f), CancellationToken.None);
                times[i] = one.Elapsed.TotalMilliseconds;
            }));
            var wall = sw.Elapsed;
            var requests = google.Requests("storage-upload") + google.Requests("storage-upload-chunk") - before;
            Array.Sort(times);
            Console.WriteLine();
            Console.WriteLine($"## {count} task logs of {text.Length / 1024} KiB uploaded at once to Cloud Storage (fake on loopback)");
            Console.WriteLine($"wall {wall.TotalSeconds:0.00} s; per upload p50 {times[count / 2]:0} ms, p99 {times[Math.Min(count - 1, (int)(count * 0.99))]:0} ms; HTTP requests per upload {requests / (double)count:0.00}; objects in the bucket {google.ListObjects("bench-bucket").Count}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
