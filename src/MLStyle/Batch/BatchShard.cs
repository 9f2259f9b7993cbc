using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace MLStyle.Batch;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> of a batch (1-based, like <c>--shard 2/4</c>). Every image belongs to
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
    /// <exception cref="MLStyleException">The directory holds manifests of another shard count, or this shard's manifest is not a regular file.</exception>
    public void CheckLayout(string outputDirectory)
    {
        BatchManifest.CheckPath(outputDirectory, ManifestFileName);
        var other = FindManifests(outputDirectory).FirstOrDefault(m => m.Shard.Count != Count);
        if (other.Shard is null) return;
        var holds = other.Shard.IsWhole
            ? $"an unsharded batch ({BatchManifest.FileName})"
            : $"a batch split into {other.Shard.Count} shards (manifest.shard-*-of-{other.Shard.Count}.jsonl)";
        var use = other.Shard.IsWhole ? "run without --shard" : $"use --shard K/{other.Shard.Count}";
        throw new MLStyleException($"'{outputDirectory}' holds {holds}, not {(IsWhole ? "an unsharded one" : $"{Count} shards")}: {use}, or use another output directory");
    }

    /// <summary>The scheduler variables <see cref="Parse"/> reads for <c>auto</c>, in order: the index variable, the count variable
    /// (null when the scheduler does not give it), and the first-index variable (null: the index starts at 0).</summary>
    public static IReadOnlyList<(string Index, string? Count, string? First, string Scheduler)> SchedulerVariables { get; } =
    [
        ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "Slurm job array"),
        ("JOB_COMPLETION_INDEX", null, null, "Kubernetes Indexed Job"),
        ("AWS_BATCH_JOB_ARRAY_INDEX", null, null, "AWS Batch array job"),
        ("BATCH_TASK_INDEX", "BATCH_TASK_COUNT", null, "Google Cloud Batch"),
    ];

    /// <summary>
    /// Reads a shard: <c>K/N</c> (1 ≤ K ≤ N); <c>auto/N</c>, the index from the first scheduler variable that is set
    /// (<see cref="SchedulerVariables"/>, 0-based: task 0 is shard 1, so a retried or resubmitted task keeps its shard); or
    /// <c>auto</c>, which also takes N from the scheduler (Slurm's <c>SLURM_ARRAY_TASK_COUNT</c>, with the index counted from
    /// <c>SLURM_ARRAY_TASK_MIN</c> and by <c>SLURM_ARRAY_TASK_STEP</c>; Google Cloud Batch's <c>BATCH_TASK_COUNT</c>).
    /// </summary>
    /// <param name="spec">The value of <c>--shard</c>.</param>
    /// <param name="environment">Reads an environment variable (null when unset).</param>
    /// <param name="source">For <c>auto</c>, which variables gave the shard (e.g. <c>SLURM_ARRAY_TASK_ID=2</c>); otherwise null.</param>
    /// <exception cref="MLStyleException">The value is malformed, out of range, or no scheduler variable is set (one line).</exception>
    public static BatchShard Parse(string spec, Func<string, string?> environment, out string? source)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(environment);
        source = null;
        var text = spec.Trim();
        int slash = text.IndexOf('/');
        var head = slash < 0 ? text : text[..slash];
        var tail = slash < 0 ? null : text[(slash + 1)..];
        const string usage = "use K/N (1 <= K <= N), auto/N or auto";
        int? count = null;
        if (tail is not null)
        {
            if (!TryParseCount(tail, out int n)) throw new MLStyleException($"invalid --shard '{spec}': the shard count '{tail}' must be a whole number of at least 1; {usage}");
            count = n;
        }
        if (!head.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            if (count is null || !int.TryParse(head, NumberStyles.None, CultureInfo.InvariantCulture, out int k))
                throw new MLStyleException($"invalid --shard '{spec}': {usage}");
            if (k < 1 || k > count) throw new MLStyleException($"invalid --shard '{spec}': the shard must be 1 to {count} (shards are counted from 1); {usage}");
            return new BatchShard(k, count.Value);
        }

        foreach (var (indexVar, countVar, firstVar, scheduler) in SchedulerVariables)
        {
            var raw = environment(indexVar);
            if (string.IsNullOrWhiteSpace(raw)) continue;
            if (!long.TryParse(raw.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long id))
                throw new MLStyleException($"--shard {spec}: {indexVar}='{raw}' is not a task index");
            source = $"{indexVar}={id}";
            long index = id;
            if (count is null)
            {
                var rawCount = countVar is null ? null : environment(countVar);
                if (string.IsNullOrWhiteSpace(rawCount) || !TryParseCount(rawCount.Trim(), out int n))
                    throw new MLStyleException($"--shard auto: the {scheduler} gives the task index ({indexVar}) but not the number of tasks: use --shard auto/N");
                count = n;
                source += $", {countVar}={n}";
                if (firstVar is not null && long.TryParse(environment(firstVar)?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long first))
                {
                    long step = long.TryParse(environment("SLURM_ARRAY_TASK_STEP")?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long s) && s > 0 ? s : 1;
                    index = (id - first) / step;
                    source += $", {firstVar}={first}" + (step > 1 ? $", SLURM_ARRAY_TASK_STEP={step}" : "");
                }
            }
            if (index < 0 || index >= count)
                throw new MLStyleException($"--shard {spec}: task index {id} from {indexVar} is outside 0 to {count - 1}" +
                                           (tail is null ? "" : $": number the tasks 0 to {count - 1} (e.g. sbatch --array=0-{count - 1})"));
            source += $" ({scheduler})";
            return new BatchShard((int)index + 1, count.Value);
        }
        throw new MLStyleException($"--shard {spec}: no scheduler task index is set ({string.Join(", ", SchedulerVariables.Select(v => v.Index))}): give the shard as K/N");
    }

    static bool TryParseCount(string s, out int n) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n) && n >= 1;

    [GeneratedRegex(@"^manifest\.shard-([0-9]{1,9})-of-([0-9]{1,9})\.jsonl$", RegexOptions.CultureInvariant)]
    private static partial Regex ManifestName();
}
