using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace MLStyle.Batch;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> of a batch (1-based: 2/4 is the second of four). Every image belongs to
/// exactly one shard, chosen by a stable hash of its path relative to the input directory (<see cref="Of"/>), so several
/// processes — the tasks of a Slurm job array, a Kubernetes Indexed Job, an AWS Batch array job — can split one batch
/// between them without talking to each other, and adding images never moves the others. Each shard keeps its own
/// manifest and lock in the shared output directory (<see cref="ManifestFileName"/>, <see cref="LockFileName"/>).
/// Shard 1 of 1 is the whole batch and uses the unsharded names (<c>manifest.jsonl</c>).
/// </summary>
public sealed partial record BatchShard
{
    /// <summary>The whole batch: one shard, the unsharded file names.</summary>
    public static BatchShard Whole { get; } = new(1, 1);

    /// <summary>Creates shard <paramref name="index"/> of <paramref name="count"/>.</summary>
    /// <exception cref="MLStyleException">The count is below 1 or the index is not in 1..count.</exception>
    public BatchShard(int index, int count)
    {
        if (count < 1) throw new MLStyleException($"invalid shard count {count}: must be at least 1");
        if (index < 1 || index > count) throw new MLStyleException($"invalid shard {index}/{count}: the shard must be 1 to {count}");
        Index = index;
        Count = count;
    }

    /// <summary>The shard, 1 to <see cref="Count"/>.</summary>
    public int Index { get; }

    /// <summary>The number of shards.</summary>
    public int Count { get; }

    /// <summary>True when this shard is the whole batch.</summary>
    public bool IsWhole => Count == 1;

    /// <summary>The shard's manifest in the output directory: <c>manifest.shard-K-of-N.jsonl</c> (<c>manifest.jsonl</c> when whole).</summary>
    public string ManifestFileName => IsWhole ? BatchManifest.FileName : $"manifest.shard-{Index}-of-{Count}.jsonl";

    /// <summary>The shard's lock file in the output directory (only one process per shard writes at a time).</summary>
    public string LockFileName => IsWhole ? BatchRunner.LockFileName : $".mlstyle-batch.shard-{Index}-of-{Count}.lock";

    /// <summary>The shard's description of its run (<see cref="BatchRunInfo"/>): <c>batch.shard-K-of-N.json</c> (<c>batch.json</c> when whole).</summary>
    public string InfoFileName => IsWhole ? "batch.json" : $"batch.shard-{Index}-of-{Count}.json";

    /// <summary>True when the image with this relative path belongs to this shard.</summary>
    public bool Contains(string relativePath) => IsWhole || Of(relativePath, Count) == Index;

    /// <summary>The images of <paramref name="items"/> that belong to this shard, in their order.</summary>
    public IReadOnlyList<BatchItem> Select(IReadOnlyList<BatchItem> items) =>
        IsWhole ? items : items.Where(i => Contains(i.RelativePath)).ToList();

    /// <summary>
    /// The shard (1 to <paramref name="count"/>) of the image with this path relative to the input directory: the first
    /// 8 bytes of the SHA-256 of its UTF-8 bytes (separators as <c>/</c>, Unicode NFC) as an unsigned big-endian integer,
    /// modulo the count, plus 1. The same on every machine, runtime and process.
    /// </summary>
    public static int Of(string relativePath, int count)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var key = relativePath.Replace('\\', '/').Normalize(NormalizationForm.FormC);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(hash) % (ulong)count) + 1;
    }

    /// <summary>The shard as <c>K/N</c>.</summary>
    public override string ToString() => $"{Index}/{Count}";

    /// <summary>The shard whose manifest has this file name, or null when it is not a manifest name.</summary>
    public static BatchShard? FromManifestFileName(string fileName)
    {
        if (fileName == BatchManifest.FileName) return Whole;
        var m = ManifestName().Match(fileName);
        if (!m.Success || !int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            || !int.TryParse(m.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 2 || k < 1 || k > n)
            return null;
        return new BatchShard(k, n);
    }

    /// <summary>The manifests in an output directory with their shards, by shard count then index.</summary>
    public static IReadOnlyList<(BatchShard Shard, string Path)> FindManifests(string outputDirectory)
    {
        if (!Directory.Exists(outputDirectory)) return [];
        return Directory.EnumerateFiles(outputDirectory, "manifest*.jsonl")
            .Select(p => (Shard: FromManifestFileName(System.IO.Path.GetFileName(p)), Path: p))
            .Where(x => x.Shard is not null)
            .Select(x => (x.Shard!, x.Path))
            .OrderBy(x => x.Item1.Count).ThenBy(x => x.Item1.Index)
            .ToList();
    }

    /// <summary>
    /// Refuses to run this shard in an output directory that holds a batch split another way (another shard count, or an
    /// unsharded batch): the images would be assigned differently, and each shard only knows its own manifest.
    /// </summary>
    /// <remarks>Also refuses a manifest of this shard that is a symbolic link or not a regular file (it is never read or written through).</remarks>
    /// <param name="outputDirectory">The batch's output directory.</param>
    /// <param name="optionName">How the caller names the shard option in its advice (e.g. <c>--shard</c>), or null.</param>
    /// <exception cref="MLStyleException">The directory holds manifests of another shard count, or this shard's manifest is not a regular file.</exception>
    public void CheckLayout(string outputDirectory, string? optionName = null)
    {
        BatchManifest.CheckPath(outputDirectory, ManifestFileName);
        var other = FindManifests(outputDirectory).FirstOrDefault(m => m.Shard.Count != Count);
        if (other.Shard is null) return;
        var holds = other.Shard.IsWhole
            ? $"an unsharded batch ({BatchManifest.FileName})"
            : $"a batch split into {other.Shard.Count} shards (manifest.shard-*-of-{other.Shard.Count}.jsonl)";
        var use = (other.Shard.IsWhole, optionName) switch
        {
            (true, null) => "run it unsharded",
            (true, _) => $"run without {optionName}",
            (false, null) => $"use shard K of {other.Shard.Count}",
            (false, _) => $"use {optionName} K/{other.Shard.Count}",
        };
        throw new MLStyleException($"'{outputDirectory}' holds {holds}, not {(IsWhole ? "an unsharded one" : $"{Count} shards")}: {use}, or use another output directory");
    }

    [GeneratedRegex(@"^manifest\.shard-([0-9]{1,9})-of-([0-9]{1,9})\.jsonl$", RegexOptions.CultureInvariant)]
    private static partial Regex ManifestName();
}
