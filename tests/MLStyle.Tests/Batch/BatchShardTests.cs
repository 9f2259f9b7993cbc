#nullable enable
using MLStyle.Batch;
using MLStyle.Tests.Imaging;

namespace MLStyle.Tests.Batch;

/// <summary>Shard assignment and the refusal to mix shard counts in one output directory.</summary>
public sealed class BatchShardTests
{
    static List<string> Paths(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(i => $"{(char)('a' + rng.Next(26))}{rng.Next(1000)}/{(rng.Next(3) == 0 ? "deep/" : "")}img_{i}_{rng.Next(1_000_000)}.{(i % 2 == 0 ? "jpg" : "png")}")
            .ToList();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(64)]
    public void EveryPathIsInExactlyOneShardAndTheShardsAreBalanced(int n)
    {
        var paths = Paths(4000, n);
        var shards = Enumerable.Range(1, n).Select(k => new BatchShard(k, n)).ToList();
        var sizes = new int[n];
        foreach (var p in paths)
        {
            var owners = shards.Where(s => s.Contains(p)).ToList();
            Assert.True(owners.Count == 1, $"{p} is in {owners.Count} of {n} shards");
            Assert.Equal(BatchShard.Of(p, n), owners[0].Index);
            sizes[owners[0].Index - 1]++;
        }
        double mean = paths.Count / (double)n;
        foreach (var size in sizes)
            Assert.True(Math.Abs(size - mean) < 6 * Math.Sqrt(mean) + 1, $"shard sizes {string.Join(", ", sizes)} for a mean of {mean:F0}");
    }

    [Fact]
    public void AddingOrRemovingFilesMovesNoOtherFile()
    {
        var before = Paths(1000, 1);
        var after = before.Concat(Paths(500, 2)).Where((_, i) => i % 10 != 3).ToList();
        foreach (int n in new[] { 3, 4, 10 })
        {
            var was = before.ToDictionary(p => p, p => BatchShard.Of(p, n));
            var items = after.Select(p => new BatchItem("/in/" + p, p, "/out/" + p)).ToList();
            for (int k = 1; k <= n; k++)
                foreach (var item in new BatchShard(k, n).Select(items))
                    if (was.TryGetValue(item.RelativePath, out int old))
                        Assert.True(old == k, $"{item.RelativePath} moved from shard {old} to {k} of {n}");
        }
    }

    [Fact]
    public void TheAssignmentIsSha256OfTheNormalisedPathOnEveryMachine()
    {
        // Independently computed with Python: int.from_bytes(hashlib.sha256(p.encode()).digest()[:8], 'big') % n + 1.
        Assert.Equal([1, 3, 1, 2, 673], new[] { 2, 3, 4, 7, 1000 }.Select(n => BatchShard.Of("a.png", n)));
        Assert.Equal([1, 3, 1, 3, 197], new[] { 2, 3, 4, 7, 1000 }.Select(n => BatchShard.Of("sub/dir/photo 1.jpg", n)));
        Assert.Equal([1, 3, 1, 4, 149], new[] { 2, 3, 4, 7, 1000 }.Select(n => BatchShard.Of("\u00e9t\u00e9/\u00df.png", n)));
        // Windows separators and decomposed accents (as macOS lists them) land in the same shard.
        Assert.Equal(197, BatchShard.Of("sub\\dir\\photo 1.jpg", 1000));
        Assert.Equal(149, BatchShard.Of("e\u0301te\u0301/\u00df.png", 1000));
    }

    [Fact]
    public void AnOutputDirectoryHoldsOneWayOfSplittingTheBatch()
    {
        using var dir = new TempDir();
        Assert.Equal("manifest.shard-2-of-4.jsonl", new BatchShard(2, 4).ManifestFileName);
        Assert.Equal(BatchManifest.FileName, BatchShard.Whole.ManifestFileName);
        File.WriteAllText(Path.Combine(dir.Path, "manifest.shard-2-of-4.jsonl"), "");
        File.WriteAllText(Path.Combine(dir.Path, "manifest.shard-x-of-4.jsonl"), ""); // not a manifest name: ignored
        new BatchShard(3, 4).CheckLayout(dir.Path);
        Assert.Contains("split into 4 shards", Assert.Throws<MLStyleException>(() => new BatchShard(1, 3).CheckLayout(dir.Path)).Message);
        Assert.Contains("use --shard K/4", Assert.Throws<MLStyleException>(() => BatchShard.Whole.CheckLayout(dir.Path, "--shard")).Message);
        Assert.Equal([new BatchShard(2, 4)], BatchShard.FindManifests(dir.Path).Select(m => m.Shard));

        using var whole = new TempDir();
        File.WriteAllText(Path.Combine(whole.Path, BatchManifest.FileName), "");
        Assert.Contains("an unsharded batch", Assert.Throws<MLStyleException>(() => new BatchShard(1, 2).CheckLayout(whole.Path)).Message);
    }
}
