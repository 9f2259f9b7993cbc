using System.Text;
using System.Text.Json;
using MLStyle.Files;
using MLStyle.Imaging;

namespace MLStyle.Batch;

/// <summary>
/// What a batch (or one shard of it) was run over, kept beside its manifest (<see cref="BatchShard.InfoFileName"/>) so that
/// <see cref="BatchStatus"/> can count the images not done yet, including those of shards that have not started.
/// </summary>
public sealed record BatchRunInfo
{
    /// <summary>The input directory (absolute, as the shard saw it).</summary>
    public required string Input { get; init; }

    /// <summary>The shard, <c>K/N</c> (<c>1/1</c> for an unsharded batch).</summary>
    public required string Shard { get; init; }

    /// <summary>The include globs (null: the defaults).</summary>
    public IReadOnlyList<string>? Include { get; init; }

    /// <summary>The exclude globs.</summary>
    public IReadOnlyList<string>? Exclude { get; init; }

    /// <summary>The output format.</summary>
    public string Format { get; init; } = "png";

    /// <summary>Whether symbolic links under the input were followed (<see cref="BatchInputs.Scan"/>).</summary>
    public bool FollowLinks { get; init; }

    /// <summary>Images of the whole batch when the shard started.</summary>
    public int Total { get; init; }

    /// <summary>Images of this shard when it started.</summary>
    public int Items { get; init; }

    /// <summary>The machine that ran the shard last.</summary>
    public string? Host { get; init; }

    /// <summary>When the shard last started (UTC).</summary>
    public DateTimeOffset Started { get; init; }

    /// <summary>Writes the description atomically into the output directory (which must exist).</summary>
    /// <exception cref="MLStyleException">The file cannot be written.</exception>
    public void Write(string outputDirectory, BatchShard shard) =>
        AtomicFile.WriteAllBytes(Path.Combine(outputDirectory, shard.InfoFileName),
            Encoding.UTF8.GetBytes(JsonSerializer.Serialize(this, BatchManifest.Json) + "\n"));

    /// <summary>Reads a shard's description, or null when it is missing or unreadable.</summary>
    public static BatchRunInfo? Read(string outputDirectory, BatchShard shard)
    {
        var path = Path.Combine(outputDirectory, shard.InfoFileName);
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<BatchRunInfo>(File.ReadAllText(path, Encoding.UTF8), BatchManifest.Json) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
