using System.CommandLine;
using System.Globalization;
using Sirocco.LocalCluster;

namespace Sirocco.Cli.Commands;

/// <summary>
/// <c>sirocco cluster load-image|images|rmi</c>: the local cluster's image store (works whether or not the cluster
/// runs).
/// </summary>
internal static class ClusterImageCommands
{
    public static IEnumerable<Command> Create(CliContext ctx)
    {
        var file = new Argument<string>("file") { Description = "A docker-archive or oci-archive tarball (docker save, skopeo copy, podman save), plain or gzip" };
        var name = new Option<string?>("--name") { Description = "The image's name when the archive gives none, or only a tag" };
        var load = new Command("load-image", "Load images from a tarball into the local cluster, as `kind load image-archive` does") { file, name };
        load.SetAction(async (pr, ct) =>
        {
            var path = Path.GetFullPath(pr.GetValue(file)!);
            IReadOnlyList<string> loaded;
            try
            {
                loaded = await LocalClusterImages.Open(ctx.Home).LoadAsync(path, pr.GetValue(name), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidDataException or FileNotFoundException or FormatException)
            {
                throw new SiroccoException(e.Message);
            }

            foreach (var image in loaded)
            {
                ctx.Out.WriteLine($"Loaded image: {image}");
            }

            return 0;
        });
        yield return load;

        var output = CliApp.OutputOption();
        var images = new Command("images", "List the local cluster's images") { output };
        images.SetAction(pr =>
        {
            Output.Rows(
                ctx,
                pr.GetValue(output)!,
                ["image", "digest", "image_id", "size", "stored"],
                LocalClusterImages.Open(ctx.Home).List().Select(i => (IReadOnlyList<string?>)[
                    i.Name, i.Digest, i.Id[..Math.Min(i.Id.Length, 19)],
                    Size(i.Size), i.Stored.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)]));
            return 0;
        });
        yield return images;

        var names = new Argument<string[]>("image") { Description = "Image names (busybox means docker.io/library/busybox:latest)", Arity = ArgumentArity.OneOrMore };
        var rmi = new Command("rmi", "Remove images from the local cluster; layers no other image or running container uses are deleted") { names };
        rmi.SetAction(pr =>
        {
            var store = LocalClusterImages.Open(ctx.Home);
            var missing = new List<string>();
            foreach (var image in pr.GetValue(names)!)
            {
                string normal;
                try
                {
                    normal = LocalClusterImages.Normalize(image);
                }
                catch (FormatException e)
                {
                    throw new SiroccoException(e.Message);
                }

                if (store.Remove(image))
                {
                    ctx.Out.WriteLine($"Deleted: {normal}");
                }
                else
                {
                    missing.Add(normal);
                }
            }

            return missing.Count == 0 ? 0 : throw new SiroccoException($"no such image: {string.Join(", ", missing)}");
        });
        yield return rmi;
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.#", CultureInfo.InvariantCulture) + "GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.#", CultureInfo.InvariantCulture) + "MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.#", CultureInfo.InvariantCulture) + "KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + "B",
    };
}
