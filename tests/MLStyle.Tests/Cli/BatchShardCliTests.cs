#nullable enable
using System.Text.Json.Nodes;
using MLStyle.Batch;
using MLStyle.Cli;
using MLStyle.Tests.Batch;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Cli;

/// <summary>
/// <c>mlstyle batch … --shard</c> and <c>mlstyle batch status</c> end to end: real <c>mlstyle</c> processes side by side on
/// one output directory, one of them killed with SIGKILL, and the merged status counted exactly.
/// </summary>
public sealed class BatchShardCliTests : IDisposable
{
    readonly TempDir _dir = new();
    string In => Path.Combine(_dir.Path, "in");
    string Out => Path.Combine(_dir.Path, "out");
    string Style => Path.Combine(_dir.Path, "style.png");

    public BatchShardCliTests() => Corpus.Write(_dir.Path, "style.png", Corpus.Photo(24, 24, 42));

    public void Dispose() => _dir.Dispose();

    string[] Batch(params string[] extra) =>
        ["batch", "stylize", "--input", In, "--output", Out, "--style", Style, "--size", "24", "--iterations", "2",
         "--style-layers", "conv1", "--content-layers", "conv1", "--threads", "1", .. extra];

    /// <summary>Writes <paramref name="count"/> small images in two folders; returns their relative paths.</summary>
    List<string> Images(int count)
    {
        var names = Enumerable.Range(0, count).Select(i => $"{(i % 2 == 0 ? "a" : "b/c")}/img{i:D2}.png").ToList();
        for (int i = 0; i < count; i++) Corpus.Write(In, names[i], Corpus.Photo(24 + i % 5, 20, i));
        return names;
    }

    static List<ManifestEntry> Lines(string output, BatchShard shard)
    {
        var path = Path.Combine(output, shard.ManifestFileName);
        return File.Exists(path) ? BatchManifest.Read(path).ToList() : [];
    }

    JsonObject StatusJson()
    {
        var r = CliRunner.Run("batch", "status", "--output", Out, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonNode.Parse(r.Stdout)!.AsObject();
    }

    [Fact]
    public async Task ConcurrentShardsWriteEveryOutputOnceAndStatusCountsExactly()
    {
        const int n = 3;
        var names = Images(14);
        Corpus.Write(In, "a/broken.png", "not pixels"u8.ToArray());
        var all = names.Append("a/broken.png").ToList();
        var shardOf = all.ToDictionary(p => p, p => BatchShard.Of(p, n));
        int brokenShard = shardOf["a/broken.png"];

        // Shards 1 and 2 at once, as separate processes on one output directory; shard 3 has not started.
        var first = await Task.WhenAll(Enumerable.Range(1, 2).Select(k => Task.Run(() => CliRunner.RunProcess(Batch("--shard", $"{k}/{n}")))));
        foreach (var (t, k) in first.Select((t, i) => (t, i + 1)))
        {
            Assert.True(t.ExitCode == (k == brokenShard ? 3 : 0), $"shard {k}: exit {t.ExitCode}: {t.Stderr}");
            Assert.Contains($"shard {k}/{n}: {shardOf.Values.Count(s => s == k)} of the {all.Count} images", t.Stderr);
        }
        int Count(Func<string, bool> which) => all.Count(which);
        var st = StatusJson();
        Assert.Equal(all.Count, (int)st["total"]!);
        Assert.Equal(Count(p => shardOf[p] < 3 && p != "a/broken.png"), (int)st["done"]!);
        Assert.Equal(brokenShard < 3 ? 1 : 0, (int)st["failed"]!);
        Assert.Equal(Count(p => shardOf[p] == 3), (int)st["pending"]!);
        var shards = st["shards"]!.AsArray();
        Assert.Equal(n, shards.Count);
        Assert.Null(shards[2]!["manifest"]);
        Assert.Equal(Count(p => shardOf[p] == 3), (int)shards[2]!["pending"]!);
        Assert.True((double)st["images_per_minute"]! > 0);
        Assert.NotNull(st["eta_seconds"]);

        var third = CliRunner.RunProcess(Batch("--shard", $"3/{n}"));
        Assert.True(third.ExitCode == (brokenShard == 3 ? 3 : 0), third.Stderr);

        // Every output once, no temporary file, each image in its own shard's manifest only, written once.
        foreach (var p in names) Assert.True(File.Exists(Path.Combine(Out, p)), $"no output for {p}");
        Assert.Empty(Directory.EnumerateFiles(Out, "*.tmp-*", SearchOption.AllDirectories));
        Assert.Equal(names.Count, Directory.EnumerateFiles(Out, "*.png", SearchOption.AllDirectories).Count());
        var seen = new Dictionary<string, int>();
        for (int k = 1; k <= n; k++)
            foreach (var e in Lines(Out, new BatchShard(k, n)))
            {
                Assert.True(shardOf[e.Input] == k, $"{e.Input} of shard {shardOf[e.Input]} is in shard {k}'s manifest");
                seen[e.Input] = seen.GetValueOrDefault(e.Input) + 1;
            }
        Assert.Equal(all.OrderBy(p => p, StringComparer.Ordinal), seen.Keys.OrderBy(p => p, StringComparer.Ordinal));
        Assert.All(seen, kv => Assert.Equal(1, kv.Value));

        st = StatusJson();
        Assert.Equal((all.Count, names.Count, 1, 0, 0), ((int)st["total"]!, (int)st["done"]!, (int)st["failed"]!, (int)st["pending"]!, (int)st["duplicates"]!));
        Assert.Equal(0.0, (double)st["eta_seconds"]!);
        var failure = Assert.Single(st["failures"]!.AsArray());
        Assert.Equal("a/broken.png", (string)failure!["input"]!);
        Assert.Contains("not an image", (string)failure["error"]!);
        Assert.Equal(Enumerable.Range(1, n).Select(k => Count(p => shardOf[p] == k)), st["shards"]!.AsArray().Select(s => (int)s!["total"]!));

        // The text form and the report over all shards.
        var report = Path.Combine(_dir.Path, "status.html");
        var text = CliRunner.Run("batch", "status", "--output", Out, "--report", report);
        Assert.True(text.ExitCode == 0, text.Stderr);
        Assert.Contains($"total   {all.Count,8}{names.Count,8}{1,8}{0,9}", text.Stdout);
        Assert.Contains("failed: a/broken.png: ", text.Stdout);
        var html = File.ReadAllText(report);
        Assert.Contains($"{all.Count} images: <b>{names.Count} done</b>", html);
        foreach (var p in all) Assert.Contains(p, html);
        Assert.Contains("data:image/jpeg;base64,", html);

        // Another shard count in the same directory, or an unsharded run, is refused in one line.
        CliRunner.Run(Batch("--shard", "1/4")).AssertOneError(2, "split into 3 shards");
        CliRunner.Run(Batch()).AssertOneError(2, "use --shard K/3");
    }

    [Fact]
    public async Task AShardKilledWithSigkillRedoesOnlyWhatItHadNotFinished()
    {
        var shard = new BatchShard(1, 2);
        var names = Images(24);
        var mine = names.Where(p => shard.Contains(p)).ToList();
        Assert.True(mine.Count >= 8, $"only {mine.Count} images in shard 1/2");
        var manifest = Path.Combine(Out, shard.ManifestFileName);

        using (var p = CliRunner.StartProcess(Batch("--shard", shard.ToString(), "--iterations", "6")))
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!p.HasExited && DateTime.UtcNow < deadline && (!File.Exists(manifest) || BatchManifest.Read(manifest).Count < 2)) Thread.Sleep(5);
            bool exited = p.HasExited;
            p.Kill(); // SIGKILL: no chance to clean up
            await p.WaitForExitAsync();
            Assert.False(exited, $"the shard finished before it could be killed: {await stderr}");
        }
        var before = BatchManifest.Read(manifest);
        var finished = before.Where(e => e.Status == ManifestStatus.Ok).Select(e => e.Input).ToHashSet();
        Assert.True(finished.Count >= 2 && finished.Count < mine.Count, $"{finished.Count} of {mine.Count} finished before the kill");
        var pending = (int)StatusJson()["shards"]!.AsArray()[0]!["pending"]!;
        Assert.Equal(mine.Count - finished.Count, pending);

        var rerun = CliRunner.RunProcess(Batch("--shard", shard.ToString(), "--iterations", "6"));
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.Contains($"{mine.Count - finished.Count} done, {finished.Count} skipped, 0 failed", rerun.Stdout);
        var after = BatchManifest.Read(manifest).Skip(before.Count).ToList();
        Assert.All(after.Where(e => finished.Contains(e.Input)), e => Assert.Equal(ManifestStatus.Skipped, e.Status));
        var redone = after.Where(e => e.Status == ManifestStatus.Ok).Select(e => e.Input).ToList();
        Assert.Equal(mine.Except(finished).OrderBy(p => p), redone.OrderBy(p => p));
        Assert.Empty(Directory.EnumerateFiles(Out, "*.tmp-*", SearchOption.AllDirectories));
        foreach (var p in mine) Assert.True(File.Exists(Path.Combine(Out, p)), $"no output for {p}");
        Assert.All(names.Except(mine), p => Assert.False(File.Exists(Path.Combine(Out, p)), $"{p} of shard 2 was written by shard 1"));

        var st = StatusJson();
        Assert.Equal((names.Count, mine.Count, 0, names.Count - mine.Count, 0),
            ((int)st["total"]!, (int)st["done"]!, (int)st["failed"]!, (int)st["pending"]!, (int)st["duplicates"]!));
    }

    [Fact]
    public void AnUnshardedBatchHasAStatusToo()
    {
        var names = Images(3);
        var r = CliRunner.Run(Batch("--shard", "1/1"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(Path.Combine(Out, BatchManifest.FileName)));
        File.Delete(Path.Combine(Out, names[0])); // a done image whose output is gone is pending again
        var st = StatusJson();
        Assert.Equal((1, 3, 2, 0, 1), ((int)st["shard_count"]!, (int)st["total"]!, (int)st["done"]!, (int)st["failed"]!, (int)st["pending"]!));
        Assert.Equal("manifest.jsonl", (string)st["shards"]!.AsArray()[0]!["manifest"]!);
    }

    [Theory]
    [InlineData("0/4", "the shard must be 1 to 4")]
    [InlineData("5/4", "the shard must be 1 to 4")]
    [InlineData("1/0", "the shard count '0'")]
    [InlineData("a/b", "the shard count 'b'")]
    [InlineData("auto", "no scheduler task index")]
    public void BadShardValuesAreOneErrorLine(string value, string reason)
    {
        foreach (var v in ShardOption.SchedulerVariables)
            Assert.True(Environment.GetEnvironmentVariable(v.Index) is null, $"{v.Index} is set in the test environment");
        Images(1);
        CliRunner.Run(Batch("--shard", value)).AssertOneError(2, reason);
        CliRunner.Run("batch", "dream", "--input", In, "--output", Out, "--shard", value).AssertOneError(2, reason);
        Assert.False(Directory.Exists(Out));
    }

    [Fact]
    public void StatusOfADirectoryWithoutManifestIsOneErrorLine()
    {
        Directory.CreateDirectory(Out);
        CliRunner.Run("batch", "status", "--output", Out).AssertOneError(2, "no batch manifest");
        CliRunner.Run("batch", "status", "--output", Path.Combine(_dir.Path, "nowhere")).AssertOneError(2, "does not exist");
    }
}
