using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLStyle.Batch;

namespace MLStyle.Cli.Commands;

/// <summary><c>mlstyle batch status</c>: the merged state of a batch and its shards.</summary>
public sealed class BatchStatusCommand : Command<BatchStatusCommand.Settings>
{
    /// <summary>Options of <c>mlstyle batch status</c>.</summary>
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-o|--output <DIR>")]
        [Description("Required. The batch's output directory (with manifest.jsonl or the shards' manifest.shard-K-of-N.jsonl).")]
        public string Output { get; init; } = "";

        [CommandOption("-i|--input <DIR>")]
        [Description("The input directory, when it is not where the shards saw it (default: the one recorded in the output directory).")]
        public string? Input { get; init; }

        [CommandOption("--report <HTML>")]
        [Description("Write an HTML report over all shards, with before/after thumbnails.")]
        public string? Report { get; init; }

        [CommandOption("--json")]
        [Description("Print one JSON object (totals done, failed, pending, total, a shards list, failures) instead of text.")]
        public bool Json { get; init; }

        /// <inheritdoc />
        public override Spectre.Console.ValidationResult Validate()
        {
            return RequiredOptions.Missing((Output, "--output")) ?? BatchCli.ValidateReport(Report) ?? base.Validate();
        }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var status = BatchStatus.Read(s.Output, s.Input);
        if (s.Report is not null)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(s.Report))!;
            if (!Directory.Exists(dir)) throw new MLStyleException($"--report: directory '{dir}' does not exist");
            BatchReport.Write(s.Report, status.ToSummary(), $"mlstyle batch status: {status.Output}");
        }
        if (s.Json) Console.WriteLine(ToJson(status).ToJsonString(JsonText));
        else Print(status);
        if (s.Report is not null && !s.Json) Console.WriteLine($"report {s.Report}");
        return ExitCodes.Ok;
    }

    static readonly JsonSerializerOptions JsonText = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static void Print(BatchStatus st)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"batch {st.Output}: {(st.ShardCount == 1 ? "unsharded" : $"{st.ShardCount} shards")}, " +
                          $"input {st.Input ?? "unknown"}{(st.Recounted ? "" : " (not readable here: pending counts only started shards)")}");
        Console.WriteLine($"{"shard",-8}{"total",8}{"done",8}{"failed",8}{"pending",9}{"img/min",9}  last image");
        foreach (var sh in st.Shards)
            Console.WriteLine(string.Create(inv, $"{sh.Shard,-8}{sh.Total,8}{sh.Done,8}{sh.Failed,8}{sh.Pending,9}{sh.ImagesPerMinute,9:F1}  " +
                                                 $"{(sh.Manifest is null ? "not started" : $"{sh.LastFinished:u}{(sh.Host is null ? "" : $" on {sh.Host}")}")}"));
        Console.WriteLine(string.Create(inv, $"{"total",-8}{st.Total,8}{st.Done,8}{st.Failed,8}{st.Pending,9}{st.ImagesPerMinute,9:F1}"));
        foreach (var f in st.Failures) Console.WriteLine($"failed: {f.Input}: {f.Error}");
        if (st.Duplicates > 0) Console.WriteLine($"warning: {st.Duplicates} images were written more than once with the same input and options");
        Console.WriteLine(st.Pending == 0
            ? $"all {st.Done + st.Failed} images handled ({st.Failed} failed)"
            : st.Eta is { } eta ? string.Create(inv, $"{st.Pending} pending: ~{Cli.Output.Duration(eta)} left at {st.ImagesPerMinute:F1} images/min")
            : $"{st.Pending} pending: no throughput yet");
    }

    /// <summary>The status as one JSON object (snake_case names).</summary>
    public static JsonObject ToJson(BatchStatus st) => new()
    {
        ["output"] = st.Output,
        ["input"] = st.Input,
        ["shard_count"] = st.ShardCount,
        ["total"] = st.Total,
        ["done"] = st.Done,
        ["failed"] = st.Failed,
        ["pending"] = st.Pending,
        ["duplicates"] = st.Duplicates,
        ["images_per_minute"] = Math.Round(st.ImagesPerMinute, 3),
        ["eta_seconds"] = st.Eta is { } eta ? Math.Round(eta.TotalSeconds, 1) : null,
        ["recounted"] = st.Recounted,
        ["shards"] = new JsonArray(st.Shards.Select(sh => (JsonNode)new JsonObject
        {
            ["shard"] = sh.Shard.ToString(),
            ["index"] = sh.Shard.Index,
            ["manifest"] = sh.Manifest is null ? null : Path.GetFileName(sh.Manifest),
            ["total"] = sh.Total,
            ["done"] = sh.Done,
            ["failed"] = sh.Failed,
            ["pending"] = sh.Pending,
            ["processed"] = sh.Processed,
            ["images_per_minute"] = Math.Round(sh.ImagesPerMinute, 3),
            ["last_finished"] = sh.LastFinished?.ToString("O", CultureInfo.InvariantCulture),
            ["host"] = sh.Host,
        }).ToArray()),
        ["failures"] = new JsonArray(st.Failures.Select(f => (JsonNode)new JsonObject { ["input"] = f.Input, ["error"] = f.Error }).ToArray()),
    };
}
