using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MLStyle.Files;

namespace MLStyle.Batch;

/// <summary>The status of an image in a batch manifest.</summary>
public static class ManifestStatus
{
    /// <summary>The output was written.</summary>
    public const string Ok = "ok";

    /// <summary>The image failed; <see cref="ManifestEntry.Error"/> says why.</summary>
    public const string Failed = "failed";

    /// <summary>An earlier run already wrote the output for the same input and options.</summary>
    public const string Skipped = "skipped";
}

/// <summary>One line of <c>manifest.jsonl</c>: what happened to one input image in one run.</summary>
public sealed record ManifestEntry
{
    /// <summary>The input path relative to the input directory (forward slashes).</summary>
    public required string Input { get; init; }

    /// <summary>The output path relative to the output directory (forward slashes).</summary>
    public required string Output { get; init; }

    /// <summary>SHA-256 of the input file (null when it could not be read).</summary>
    public string? InputSha256 { get; init; }

    /// <summary>SHA-256 of the output file as written (status ok); a resume skips the image only when the output still has it.</summary>
    public string? OutputSha256 { get; init; }

    /// <summary>SHA-256 of the job kind, options, model hash and output format (see <see cref="BatchRunner.OptionsHash"/>).</summary>
    public required string OptionsHash { get; init; }

    /// <summary><c>ok</c>, <c>failed</c> or <c>skipped</c> (<see cref="ManifestStatus"/>).</summary>
    public required string Status { get; init; }

    /// <summary>Why the image failed (one line), or null.</summary>
    public string? Error { get; init; }

    /// <summary>The job kind (<c>stylize</c>, <c>dream</c>).</summary>
    public string? Kind { get; init; }

    /// <summary>The job's options.</summary>
    public JsonObject? Options { get; init; }

    /// <summary>The random seed.</summary>
    public int Seed { get; init; }

    /// <summary>The model's short name.</summary>
    public string? Model { get; init; }

    /// <summary>The model's hash (<see cref="Backbones.Backbone.Hash"/>).</summary>
    public string? ModelHash { get; init; }

    /// <summary>The final loss terms.</summary>
    public IReadOnlyDictionary<string, double>? Losses { get; init; }

    /// <summary>Iterations run.</summary>
    public int? Iterations { get; init; }

    /// <summary>Each loss term per iteration (<see cref="ImageJobResult.LossCurves"/>), kept so that a resumed batch's
    /// report still plots the images done by an earlier run.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<double>>? LossCurves { get; init; }

    /// <summary>Wall time of the image in seconds (hashing, loading, processing, saving).</summary>
    public double? Seconds { get; init; }

    /// <summary>The process's peak working set when the image finished, in bytes.</summary>
    public long? PeakMemoryBytes { get; init; }

    /// <summary>When the line was written (UTC, ISO 8601).</summary>
    public DateTimeOffset? Finished { get; init; }
}

/// <summary>
/// The manifest of a batch: <c>manifest.jsonl</c> in the output directory, one JSON object per line and per image and run.
/// Lines are only appended, each flushed to disk before the next image is reported, so a run killed at any moment loses
/// at most the images in flight; a half-written last line (from a kill) is ignored when the manifest is read again.
/// </summary>
internal sealed class BatchManifest : IDisposable
{
    /// <summary>The manifest's file name.</summary>
    public const string FileName = "manifest.jsonl";

    /// <summary>The JSON conventions of the manifest: snake_case names, nulls left out.</summary>
    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    readonly FileStream _stream;
    readonly object _lock = new();
    readonly Dictionary<string, ManifestEntry> _latest = new(StringComparer.Ordinal);

    BatchManifest(string path, FileStream stream, List<ManifestEntry> entries, int unreadable)
    {
        Path = path;
        _stream = stream;
        Entries = entries;
        UnreadableLines = unreadable;
        foreach (var e in entries) _latest[e.Input] = e;
    }

    /// <summary>The manifest's path.</summary>
    public string Path { get; }

    /// <summary>The lines that were in the manifest when it was opened, in order.</summary>
    public IReadOnlyList<ManifestEntry> Entries { get; }

    /// <summary>Lines that could not be parsed when the manifest was opened (a line cut by a kill).</summary>
    public int UnreadableLines { get; }

    /// <summary>Reads all lines of a manifest file (unreadable lines are skipped).</summary>
    /// <exception cref="MLStyleException">The manifest is a symbolic link or not a regular file.</exception>
    public static IReadOnlyList<ManifestEntry> Read(string path)
    {
        if (SafePaths.KindOf(path) != FileKind.Regular)
            throw new MLStyleException($"the manifest '{path}' is missing, a symbolic link or not a regular file: it is not read");
        return Parse(File.ReadAllLines(path, Encoding.UTF8), out _);
    }

    /// <summary>Opens (creating if needed) the manifest of an output directory for appending.</summary>
    /// <param name="outputDirectory">The output directory.</param>
    /// <param name="fileName">The manifest's name (default <see cref="FileName"/>; a shard's is <see cref="BatchShard.ManifestFileName"/>).</param>
    /// <exception cref="MLStyleException">The directory is missing or the manifest cannot be opened.</exception>
    /// <remarks>A manifest that is a symbolic link or not a regular file is refused (it is neither read nor written through).
    /// Lines that are not JSON, or lack the input, output, status or options hash, are counted in <see cref="UnreadableLines"/>
    /// and otherwise ignored. The file is written unbuffered, so disposing never flushes (and never fails) after a failed write.</remarks>
    public static BatchManifest Open(string outputDirectory, string fileName = FileName)
    {
        var path = CheckPath(outputDirectory, fileName);
        var kind = SafePaths.KindOf(path);
        try
        {
            var lines = kind == FileKind.Regular ? File.ReadAllLines(path, Encoding.UTF8) : Array.Empty<string>();
            var entries = Parse(lines, out int bad);
            var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
            if (stream.Position > 0 && !EndsWithNewline(path))
            {
                stream.WriteByte((byte)'\n'); // a killed run may have left half a line: start a fresh one
                stream.Flush(flushToDisk: true);
            }
            return new BatchManifest(path, stream, entries, bad);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MLStyleException($"cannot open the manifest '{path}': {e.Message.ReplaceLineEndings(" ").TrimEnd('.')}", e);
        }
    }

    /// <summary>The manifest path of an output directory, after checking that it is missing or a regular file.</summary>
    /// <param name="outputDirectory">The output directory.</param>
    /// <param name="fileName">The manifest's name (default <see cref="FileName"/>; a shard's is <see cref="BatchShard.ManifestFileName"/>).</param>
    /// <exception cref="MLStyleException">The manifest is a symbolic link or not a regular file (it is never read or written through).</exception>
    public static string CheckPath(string outputDirectory, string fileName = FileName)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetFullPath(outputDirectory), fileName);
        var kind = SafePaths.KindOf(path);
        if (kind is not (FileKind.Missing or FileKind.Regular))
            throw new MLStyleException($"the manifest '{path}' is {(kind == FileKind.SymbolicLink ? "a symbolic link" : "not a regular file")}: it is neither read nor written; move it away");
        return path;
    }

    /// <summary>The last line written for an input (by its relative path), from earlier runs or this one.</summary>
    public ManifestEntry? Latest(string relativeInput)
    {
        lock (_lock) return _latest.GetValueOrDefault(relativeInput);
    }

    /// <summary>Appends one line and flushes it to disk. Thread-safe.</summary>
    /// <exception cref="MLStyleException">The line cannot be written (a full disk, a removed directory).</exception>
    public void Append(ManifestEntry entry)
    {
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(entry, Json) + "\n");
        lock (_lock)
        {
            try
            {
                _stream.Write(bytes);
                _stream.Flush(flushToDisk: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new MLStyleException($"cannot write the manifest '{Path}': {e.Message.ReplaceLineEndings(" ").TrimEnd('.')}", e);
            }
            _latest[entry.Input] = entry;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_lock)
        {
            try { _stream.Dispose(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Every line was flushed by Append (or its failure reported there): nothing is lost by ignoring this.
            }
        }
    }

    static List<ManifestEntry> Parse(IEnumerable<string> lines, out int unreadable)
    {
        var list = new List<ManifestEntry>();
        unreadable = 0;
        foreach (var line in lines)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var e = JsonSerializer.Deserialize<ManifestEntry>(line, Json);
                if (e is null || e.Input is null || e.Output is null || e.Status is null || e.OptionsHash is null) unreadable++;
                else list.Add(e);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
            {
                unreadable++;
            }
        }
        return list;
    }

    static bool EndsWithNewline(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (f.Length == 0) return true;
        f.Seek(-1, SeekOrigin.End);
        return f.ReadByte() == '\n';
    }
}
