using System.Globalization;
using MLStyle.Batch;

namespace MLStyle.Cli;

/// <summary>The <c>--shard</c> option of the batch commands: its text and the scheduler variables <c>auto</c> reads.</summary>
public static class ShardOption
{
    /// <summary>The option's name in messages.</summary>
    public const string Name = "--shard";

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
    /// <param name="spec">The option's value.</param>
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

}
