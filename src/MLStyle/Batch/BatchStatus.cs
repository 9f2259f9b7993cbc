using MLStyle.Imaging;

namespace MLStyle.Batch;

/// <summary>The state of one shard of a batch (see <see cref="BatchStatus"/>).</summary>
/// <param name="Shard">The shard.</param>
/// <param name="Manifest">Its manifest, or null when the shard has not started.</param>
/// <param name="Total">Its images.</param>
/// <param name="Done">Images whose output is written (the last manifest line says ok or skipped, and the output exists).</param>
/// <param name="Failed">Images whose last manifest line says failed.</param>
/// <param name="Pending">Images not done and not failed.</param>
/// <param name="Processed">Images processed, over all its runs (manifest lines ok or failed; skipped lines are not work).</param>
/// <param name="ImagesPerMinute">Processed images per minute of wall time from the first image's start to the last one's end.</param>
/// <param name="LastFinished">When its last image finished.</param>
/// <param name="Host">The machine that ran it last (from <see cref="BatchRunInfo"/>).</param>
public sealed record ShardStatus(BatchShard Shard, string? Manifest, int Total, int Done, int Failed, int Pending, int Processed,
    double ImagesPerMinute, DateTimeOffset? LastFinished, string? Host);

/// <summary>
/// The merged state of a batch in an output directory: every shard's manifest (or the unsharded one) read and counted —
/// done, failed with reasons, pending, per shard and in total, the throughput and an estimate of the time left. The
/// images of the batch are listed again from the input directory recorded by the shards (<see cref="BatchRunInfo"/>), so
/// pending counts include shards that have not started; when that directory cannot be read, each started shard's image
/// count from its start is used instead.
/// </summary>
/// <param name="Output">The output directory.</param>
/// <param name="Input">The input directory, when known.</param>
/// <param name="ShardCount">Shards of the batch (1: unsharded).</param>
/// <param name="Total">Images of the batch.</param>
/// <param name="Done">Images done.</param>
/// <param name="Failed">Images failed (their last line says failed).</param>
/// <param name="Pending">Images neither done nor failed.</param>
/// <param name="Duplicates">Images written more than once for the same input and options (by two shards, or a shard that redid
/// finished work): 0 in a healthy batch.</param>
/// <param name="ImagesPerMinute">Processed images per minute over all shards, from the first image's start to the last one's end.</param>
/// <param name="Eta">Pending images at that rate (zero when none is pending; null when unknown).</param>
/// <param name="Recounted">True when the images were listed again from the input directory.</param>
/// <param name="Shards">Every shard, started or not, by index.</param>
/// <param name="Entries">The last manifest line of every image that has one, by input path.</param>
public sealed record BatchStatus(string Output, string? Input, int ShardCount, int Total, int Done, int Failed, int Pending, int Duplicates,
    double ImagesPerMinute, TimeSpan? Eta, bool Recounted, IReadOnlyList<ShardStatus> Shards, IReadOnlyList<ManifestEntry> Entries)
{
    /// <summary>The images that failed, by input path (each with its <see cref="ManifestEntry.Error"/>).</summary>
    public IEnumerable<ManifestEntry> Failures => Entries.Where(e => e.Status == ManifestStatus.Failed);

    /// <summary>Reads the status of the batch in <paramref name="outputDirectory"/>.</summary>
    /// <param name="outputDirectory">The batch's output directory.</param>
    /// <param name="inputDirectory">The input directory, when it is not where the shards saw it (e.g. mounted elsewhere).</param>
    /// <exception cref="MLStyleException">There is no manifest, manifests of several shard counts, or a given input directory cannot be listed.</exception>
    public static BatchStatus Read(string outputDirectory, string? inputDirectory = null)
    {
        var output = Path.GetFullPath(outputDirectory);
        if (!Directory.Exists(output)) throw new MLStyleException($"output directory '{outputDirectory}' does not exist");
        var manifests = BatchShard.FindManifests(output);
        if (manifests.Count == 0) throw new MLStyleException($"no batch manifest in '{outputDirectory}' (manifest.jsonl or manifest.shard-K-of-N.jsonl)");
        var counts = manifests.Select(m => m.Shard.Count).Distinct().ToList();
        if (counts.Count > 1)
            throw new MLStyleException($"'{outputDirectory}' holds manifests of batches split {string.Join(" and ", counts.Select(c => c == 1 ? "unsharded" : $"into {c} shards"))}: remove the stale ones");
        int n = counts[0];
        var shards = Enumerable.Range(1, n).Select(k => new BatchShard(k, n)).ToList();
        var paths = manifests.ToDictionary(m => m.Shard.Index, m => m.Path);
        var infos = shards.ToDictionary(s => s.Index, s => BatchRunInfo.Read(output, s));
        var info = infos.Values.Where(i => i is not null).MaxBy(i => i!.Started);

        var input = inputDirectory is not null ? Path.GetFullPath(inputDirectory) : info?.Input;
        IReadOnlyList<BatchItem>? items = null;
        if (inputDirectory is not null || (input is not null && Directory.Exists(input)))
            items = BatchInputs.Discover(input!, output, info?.Format ?? "png", info?.Include, info?.Exclude, info?.FollowLinks ?? false);

        var lines = shards.ToDictionary(s => s.Index, s => paths.TryGetValue(s.Index, out var p) ? BatchManifest.Read(p) : (IReadOnlyList<ManifestEntry>)[]);
        var latest = new Dictionary<string, ManifestEntry>(StringComparer.Ordinal);
        var list = new List<ShardStatus>(n);
        foreach (var shard in shards)
        {
            var last = new Dictionary<string, ManifestEntry>(StringComparer.Ordinal);
            foreach (var e in lines[shard.Index]) last[e.Input] = e;
            IEnumerable<string> keys = items is null ? last.Keys : items.Where(i => shard.Contains(i.RelativePath)).Select(i => i.RelativePath);
            int total = 0, done = 0, failed = 0;
            foreach (var key in keys)
            {
                total++;
                if (!last.TryGetValue(key, out var e)) continue;
                latest[key] = e;
                if (e.Status == ManifestStatus.Failed) failed++;
                else if (File.Exists(Path.Combine(output, e.Output))) done++;
            }
            if (items is null) total = Math.Max(total, infos[shard.Index]?.Items ?? 0);
            var processed = Work(lines[shard.Index]);
            list.Add(new ShardStatus(shard, paths.GetValueOrDefault(shard.Index), total, done, failed, total - done - failed, processed.Count,
                Rate(processed), processed.Count == 0 ? null : processed.Max(e => e.Finished), infos[shard.Index]?.Host));
        }

        var all = Work(lines.Values.SelectMany(l => l).ToList());
        int duplicates = all.Where(e => e.Status == ManifestStatus.Ok)
            .GroupBy(e => (e.Input, e.InputSha256, e.OptionsHash)).Count(g => g.Count() > 1);
        int pending = list.Sum(s => s.Pending);
        double rate = Rate(all);
        TimeSpan? eta = pending == 0 ? TimeSpan.Zero : rate > 0 ? TimeSpan.FromMinutes(pending / rate) : null;
        return new BatchStatus(output, input, n, list.Sum(s => s.Total), list.Sum(s => s.Done), list.Sum(s => s.Failed), pending, duplicates,
            rate, eta, items is not null, list, latest.Values.OrderBy(e => e.Input, StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// The status as a <see cref="BatchSummary"/> for <see cref="BatchReport"/>: one row per image with a manifest line, with
    /// thumbnails of the input and output files when <paramref name="thumbnailSize"/> is above 0 and they can be read.
    /// </summary>
    public BatchSummary ToSummary(int thumbnailSize = 160, ImageLoadOptions? load = null)
    {
        var outcomes = Entries.Select(e =>
        {
            var item = new BatchItem(Input is null ? e.Input : Path.Combine(Input, e.Input), e.Input, Path.Combine(Output, e.Output));
            bool ok = e.Status != ManifestStatus.Failed;
            return new BatchItemOutcome(item, e, null, Thumbnails.OfFile(item.InputPath, thumbnailSize, load),
                ok ? Thumbnails.OfFile(item.OutputPath, thumbnailSize, load) : null);
        }).ToList();
        var span = TimeSpan.FromMinutes(ImagesPerMinute > 0 ? Shards.Sum(s => s.Processed) / ImagesPerMinute : 0);
        return new BatchSummary(Total, Done, 0, Failed, 0, span, Cancelled: false, outcomes);
    }

    /// <summary>The manifest lines that are work done (ok or failed, with a finish time).</summary>
    static List<ManifestEntry> Work(IReadOnlyList<ManifestEntry> lines) =>
        lines.Where(e => e.Status != ManifestStatus.Skipped && e.Finished is not null).ToList();

    /// <summary>Images per minute from the first image's start to the last one's end (0 when unknown).</summary>
    static double Rate(IReadOnlyList<ManifestEntry> work)
    {
        if (work.Count == 0) return 0;
        var start = work.Min(e => e.Finished!.Value - TimeSpan.FromSeconds(e.Seconds ?? 0));
        var end = work.Max(e => e.Finished!.Value);
        var minutes = (end - start).TotalMinutes;
        return minutes > 0 ? work.Count / minutes : 0;
    }
}
