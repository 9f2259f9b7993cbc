#nullable enable
using MLStyle.Batch;
using MLStyle.Cli;

namespace MLStyle.Tests.Cli;

/// <summary><c>--shard</c> parsing: K/N, auto/N and auto from the schedulers' variables.</summary>
public sealed class ShardOptionTests
{
    static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
        name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Theory]
    [InlineData("3/4", "", "", 3, 4, null)]
    [InlineData("1/1", "", "", 1, 1, null)]
    [InlineData(" 2/5 ", "", "", 2, 5, null)]
    [InlineData("auto/4", "SLURM_ARRAY_TASK_ID", "0", 1, 4, "SLURM_ARRAY_TASK_ID=0")]
    [InlineData("auto/4", "JOB_COMPLETION_INDEX", "3", 4, 4, "JOB_COMPLETION_INDEX=3 (Kubernetes Indexed Job)")]
    [InlineData("auto/10", "AWS_BATCH_JOB_ARRAY_INDEX", "9", 10, 10, "AWS_BATCH_JOB_ARRAY_INDEX=9 (AWS Batch array job)")]
    public void ValidShards(string spec, string var, string value, int k, int n, string? source)
    {
        var shard = ShardOption.Parse(spec, Env((var, value)), out var from);
        Assert.Equal(new BatchShard(k, n), shard);
        if (source is null) Assert.Null(from);
        else Assert.StartsWith(source, from);
    }

    [Fact]
    public void AutoTakesTheCountFromSlurmAndCountsFromTheArraysFirstIndexAndStep()
    {
        // --array=1-4: task 3 is the third of four.
        var s = ShardOption.Parse("auto", Env(("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "1")), out var from);
        Assert.Equal(new BatchShard(3, 4), s);
        Assert.Equal("SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_COUNT=4, SLURM_ARRAY_TASK_MIN=1 (Slurm job array)", from);
        // --array=10-16:2 (10, 12, 14, 16): task 14 is the third of four.
        Assert.Equal(new BatchShard(3, 4), ShardOption.Parse("auto", Env(("SLURM_ARRAY_TASK_ID", "14"), ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_STEP", "2")), out _));
        // Google Cloud Batch gives both.
        Assert.Equal(new BatchShard(6, 8), ShardOption.Parse("auto", Env(("BATCH_TASK_INDEX", "5"), ("BATCH_TASK_COUNT", "8")), out _));
    }

    [Theory]
    [InlineData("0/4", "shard must be 1 to 4")]
    [InlineData("5/4", "shard must be 1 to 4")]
    [InlineData("1/0", "shard count '0'")]
    [InlineData("a/b", "shard count 'b'")]
    [InlineData("a/4", "use K/N")]
    [InlineData("4", "use K/N")]
    [InlineData("-1/4", "use K/N")]
    [InlineData("", "use K/N")]
    [InlineData("auto", "no scheduler task index")]
    [InlineData("auto/4", "no scheduler task index")]
    public void BadShardsAreOneLineErrors(string spec, string fragment)
    {
        var e = Assert.Throws<MLStyleException>(() => ShardOption.Parse(spec, Env(), out _));
        Assert.Contains(fragment, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("auto", "JOB_COMPLETION_INDEX", "2", "use --shard auto/N")]
    [InlineData("auto/4", "SLURM_ARRAY_TASK_ID", "4", "outside 0 to 3")]
    [InlineData("auto/4", "SLURM_ARRAY_TASK_ID", "x", "not a task index")]
    public void BadSchedulerIndexesAreOneLineErrors(string spec, string var, string value, string fragment)
    {
        var e = Assert.Throws<MLStyleException>(() => ShardOption.Parse(spec, Env((var, value)), out _));
        Assert.Contains(fragment, e.Message);
    }
}
