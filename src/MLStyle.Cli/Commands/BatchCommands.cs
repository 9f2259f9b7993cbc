using MLStyle.Batch;
using MLStyle.Engines;
using MLStyle.Files;
using MLStyle.Imaging;

namespace MLStyle.Cli.Commands;

/// <summary>The options every <c>mlstyle batch</c> command has besides its job's options.</summary>
public interface IBatchSettings
{
    /// <summary>The input directory.</summary>
    string Input { get; }

    /// <summary>The output directory.</summary>
    string Output { get; }

    /// <summary>Include globs (default: the image formats).</summary>
    string[]? Include { get; }

    /// <summary>Exclude globs.</summary>
    string[]? Exclude { get; }

    /// <summary>Images at once.</summary>
    int Workers { get; }

    /// <summary>png or jpg.</summary>
    string Format { get; }

    /// <summary>The HTML report, or null.</summary>
    string? Report { get; }

    /// <summary>Redo every image.</summary>
    bool Force { get; }

    /// <summary>Follow symbolic links under the input (never into the output, never twice into a directory).</summary>
    bool FollowLinks { get; }

    /// <summary>The shard, <c>K/N</c>, <c>auto/N</c> or <c>auto</c>, or null for the whole batch.</summary>
    string? Shard { get; }
}

/// <summary><c>mlstyle batch stylize</c>: stylises every image of a directory tree.</summary>
public sealed class BatchStylizeCommand : Command<BatchStylizeCommand.Settings>
{
    /// <summary>Options of <c>mlstyle batch stylize</c>: those of <c>stylize</c> plus the batch options.</summary>
    public sealed class Settings : PlannedStyleTransferSettings, IBatchSettings
    {
        [CommandOption("-i|--input <DIR>")]
        [Description("Required. The directory of content images, searched recursively.")]
        public string Input { get; init; } = "";

        [CommandOption("-o|--output <DIR>")]
        [Description("Required. Where the outputs go, mirroring the input tree (DIR/sub/a.jpg -> OUT/sub/a.png), with manifest.jsonl.")]
        public string Output { get; init; } = "";

        [CommandOption("--include <GLOB>")]
        [Description("Only files matching this glob (repeatable; ** matches folders; default: *.png, *.jpg, *.jpeg, *.webp, *.gif, *.bmp).")]
        public string[]? Include { get; init; }

        [CommandOption("--exclude <GLOB>")]
        [Description("Leave out files matching this glob (repeatable), e.g. '**/thumbs/**'.")]
        public string[]? Exclude { get; init; }

        [CommandOption("--workers <N>")]
        [Description("Images processed at once, each with its own sessions; --threads is divided between them (default 1).")]
        public int Workers { get; init; } = 1;

        [CommandOption("--format <FORMAT>")]
        [Description("Output format: png (default) or jpg.")]
        public string Format { get; init; } = "png";

        [CommandOption("--report <HTML>")]
        [Description("Write an HTML report with before/after thumbnails and loss curves.")]
        public string? Report { get; init; }

        [CommandOption("--follow-links")]
        [Description("Follow symbolic links under --input (default: they are skipped and reported); never into --output, never in cycles.")]
        public bool FollowLinks { get; init; }

        [CommandOption("--force")]
        [Description("Redo every image, even those an earlier run finished (default: resume).")]
        public bool Force { get; init; }

        [CommandOption("--shard <K/N>")]
        [Description(BatchCli.ShardDescription)]
        public string? Shard { get; init; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            return RequiredOptions.Missing((Input, "--input"), (Output, "--output")) ?? BatchCli.Validate(this) ?? base.Validate();
        }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var styles = s.StylePaths();
        var options = s.Options(styles.Count);
        options.Validate(styles.Count);
        if (options.Init is not ("content" or "random") && !File.Exists(options.Init))
            throw new MLStyleException($"--init: '{options.Init}' is neither content, random nor an existing image");
        var load = s.LoadOptions();
        var backbone = s.Backbone();
        var items = BatchCli.Discover(s, [.. styles, options.Init is "content" or "random" ? null : options.Init, OutputPaths.ModelFile(s.Model), backbone.Source]);
        new StyleTransferEngine(backbone).Spec(options); // unknown layers: one clear error before any work
        var styleImages = styles.Select(p => ImageIO.Load(p, load)).ToList();

        // Every image is resized to the same long side: a square one is the largest; plan memory for that.
        int longSide = options.EffectiveScales.Max();
        var plan = Preflights.Plan(backbone, options, longSide, longSide, s.MemoryLimit(), s.Workers, styles.Count, s.DryRun);
        if (s.DryRun)
        {
            BatchCli.DryRunTotals(items, load, s, (w, h) => Preflight.Estimate(backbone, plan.Options, w, h, styles.Count, cached: true).Time);
            return ExitCodes.Ok;
        }

        var job = new StyleTransferJob(backbone, styleImages, styles.Select(ContentHash.OfFile).ToList(), plan.Options);
        Cli.Output.Info($"batch stylize: {items.Count} images from {s.Input} with {string.Join(", ", styles.Select(Path.GetFileName))} on {backbone.Name} " +
                        $"({string.Join(",", plan.Options.EffectiveScales)} px, {plan.Options.Iterations} iterations, {plan.Options.Optimizer}, " +
                        $"{s.Workers} worker{(s.Workers == 1 ? "" : "s")} x {BatchRunner.ThreadsPerWorker(s.Threads, s.Workers)} threads)");
        return BatchCli.Run(job, items, s, s.Session(), load, cancel);
    }
}

/// <summary><c>mlstyle batch dream</c>: dreams on every image of a directory tree.</summary>
public sealed class BatchDreamCommand : Command<BatchDreamCommand.Settings>
{
    /// <summary>
    /// Options of <c>mlstyle batch dream</c>: the dream options of every image (<see cref="DreamSettings"/>) plus the batch
    /// options. Zoom frames and the pre-flight options of <c>dream</c> are not among them.
    /// </summary>
    public sealed class Settings : DreamSettings, IBatchSettings
    {
        [CommandOption("-i|--input <DIR>")]
        [Description("Required. The directory of images to dream on, searched recursively.")]
        public string Input { get; init; } = "";

        [CommandOption("-o|--output <DIR>")]
        [Description("Required. Where the dreams go, mirroring the input tree (DIR/sub/a.jpg -> OUT/sub/a.png), with manifest.jsonl.")]
        public string Output { get; init; } = "";

        [CommandOption("--include <GLOB>")]
        [Description("Only files matching this glob (repeatable; ** matches folders; default: *.png, *.jpg, *.jpeg, *.webp, *.gif, *.bmp).")]
        public string[]? Include { get; init; }

        [CommandOption("--exclude <GLOB>")]
        [Description("Leave out files matching this glob (repeatable), e.g. '**/thumbs/**'.")]
        public string[]? Exclude { get; init; }

        [CommandOption("--workers <N>")]
        [Description("Images processed at once, each with its own sessions; --threads is divided between them (default 1).")]
        public int Workers { get; init; } = 1;

        [CommandOption("--format <FORMAT>")]
        [Description("Output format: png (default) or jpg.")]
        public string Format { get; init; } = "png";

        [CommandOption("--report <HTML>")]
        [Description("Write an HTML report with before/after thumbnails and objective curves.")]
        public string? Report { get; init; }

        [CommandOption("--follow-links")]
        [Description("Follow symbolic links under --input (default: they are skipped and reported); never into --output, never in cycles.")]
        public bool FollowLinks { get; init; }

        [CommandOption("--force")]
        [Description("Redo every image, even those an earlier run finished (default: resume).")]
        public bool Force { get; init; }

        [CommandOption("--shard <K/N>")]
        [Description(BatchCli.ShardDescription)]
        public string? Shard { get; init; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            return RequiredOptions.Missing((Input, "--input"), (Output, "--output")) ?? BatchCli.Validate(this) ?? base.Validate();
        }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        s.CheckOptions(); // every option, before any file is read
        var load = s.LoadOptions();
        var backbone = s.Backbone();
        var items = BatchCli.Discover(s, [s.Guide, OutputPaths.ModelFile(s.Model), backbone.Source]);
        var guide = s.Guide is null ? null : ImageIO.Load(s.Guide, load);
        var options = s.Options(guide);
        var job = new DeepDreamJob(backbone, options, s.Guide is null ? null : ContentHash.OfFile(s.Guide));
        Cli.Output.Info($"batch dream: {items.Count} images from {s.Input} on {backbone.Name} ({(options.Size is { } size ? $"{size} px" : "input sizes")}, " +
                        $"{options.Octaves} octaves, {options.IterationsPerOctave} iterations, {s.Workers} worker{(s.Workers == 1 ? "" : "s")} x " +
                        $"{BatchRunner.ThreadsPerWorker(s.Threads, s.Workers)} threads)");
        return BatchCli.Run(job, items, s, s.Session(), load, cancel);
    }
}

/// <summary>The shared parts of the <c>mlstyle batch</c> commands.</summary>
public static class BatchCli
{
    /// <summary>The help of <c>--shard</c>.</summary>
    public const string ShardDescription =
        "Do only shard K of N (1 <= K <= N) of the images, chosen by a hash of their paths, with its own manifest, so that N processes " +
        "(e.g. a job array) share one output directory. 'auto/N' takes K from the scheduler's task index (SLURM_ARRAY_TASK_ID, " +
        "JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, BATCH_TASK_INDEX; 0-based); 'auto' also takes N when the scheduler gives it.";

    /// <summary>Checks the batch options; null when they are fine.</summary>
    public static ValidationResult? Validate(IBatchSettings s)
    {
        if (s.Workers < 1 || s.Workers > 64) return ValidationResult.Error($"invalid --workers {s.Workers}: must be 1 to 64");
        if (s.Format.ToLowerInvariant() is not ("png" or "jpg" or "jpeg")) return ValidationResult.Error($"invalid --format '{s.Format}': use png or jpg");
        if (ValidateReport(s.Report) is { } report) return report;
        if (s.Shard is not null)
        {
            try
            {
                ShardOption.Parse(s.Shard, Environment.GetEnvironmentVariable, out _);
            }
            catch (MLStyleException e)
            {
                return ValidationResult.Error(e.Message);
            }
        }
        return null;
    }

    /// <summary>Checks a <c>--report</c> path (an .html file); null when it is fine or not given.</summary>
    public static ValidationResult? ValidateReport(string? report) =>
        report is not null && !report.EndsWith(".html", StringComparison.OrdinalIgnoreCase) && !report.EndsWith(".htm", StringComparison.OrdinalIgnoreCase)
            ? ValidationResult.Error($"--report '{report}': the report is written as .html")
            : null;

    /// <summary>The shard of this run (whole when there is no --shard), announced with the scheduler variable that gave it.</summary>
    static BatchShard Shard(IBatchSettings s, IReadOnlyList<BatchItem> items)
    {
        if (s.Shard is null) return BatchShard.Whole;
        var shard = ShardOption.Parse(s.Shard, Environment.GetEnvironmentVariable, out var source);
        Cli.Output.Info($"shard {shard}{(source is null ? "" : $" from {source}")}: {shard.Select(items).Count} of the {items.Count} images");
        return shard;
    }

    /// <summary>Lists the batch's images and checks that the output directory and report can be written.</summary>
    /// <param name="s">The batch options.</param>
    /// <param name="runInputs">Every other file the run reads (styles, init image, guide, model): no output may be one of them.</param>
    public static IReadOnlyList<BatchItem> Discover(IBatchSettings s, IEnumerable<string?> runInputs)
    {
        var found = BatchInputs.Scan(s.Input, s.Output, s.Format, s.Include, s.Exclude, s.FollowLinks);
        foreach (var skipped in found.Skipped) Cli.Output.Info($"skipped: {skipped.RelativePath}: {skipped.Reason}");
        var items = found.Items;
        var others = runInputs.Where(p => p is not null && SafePaths.TargetKindOf(p) == FileKind.Regular).ToList();
        foreach (var item in items) SafePaths.CheckWritable(item.OutputPath, others);
        if (s.Report is not null) OutputPaths.CheckRun([.. others, .. items.Select(i => i.InputPath)], (s.Report, "--report"));
        if (items.Count == 0)
            throw new MLStyleException($"no images found in '{s.Input}'{(s.Include is { Length: > 0 } ? $" matching {string.Join(", ", s.Include)}" : "")}");
        var outDir = Path.GetFullPath(s.Output);
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(outDir));
        if (File.Exists(outDir)) throw new MLStyleException($"output '{s.Output}' is a file, not a directory");
        if (!Directory.Exists(outDir) && (parent is null || !Directory.Exists(parent)))
            throw new MLStyleException($"cannot create the output directory '{s.Output}': '{parent}' does not exist");
        if (Directory.Exists(outDir)) CheckWritable(outDir);
        (s.Shard is null ? BatchShard.Whole : ShardOption.Parse(s.Shard, Environment.GetEnvironmentVariable, out _)).CheckLayout(outDir, ShardOption.Name);
        if (s.Report is not null)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(s.Report))!;
            if (!Directory.Exists(dir) && !Path.GetFullPath(dir).StartsWith(outDir, StringComparison.Ordinal))
                throw new MLStyleException($"--report: directory '{dir}' does not exist");
        }
        return items;
    }

    static void CheckWritable(string dir)
    {
        try
        {
            var probe = Path.Combine(dir, $".mlstyle-write-test-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, Array.Empty<byte>());
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MLStyleException($"cannot write to '{dir}': {e.Message.ReplaceLineEndings(" ").TrimEnd('.')}");
        }
    }

    /// <summary>Prints the dry-run totals of a batch: images, readable headers, and the estimated total time.</summary>
    public static void DryRunTotals(IReadOnlyList<BatchItem> items, ImageLoadOptions load, IBatchSettings s, Func<int, int, TimeSpan> timeOf)
    {
        int unreadable = 0;
        var total = TimeSpan.Zero;
        foreach (var item in items)
        {
            try
            {
                var info = Preflights.ProbeChecked(item.InputPath, load);
                total += timeOf(info.Width, info.Height);
            }
            catch (MLStyleException)
            {
                unreadable++;
            }
        }
        Console.WriteLine($"batch: {items.Count} images, {unreadable} of them with unreadable headers (they would fail); estimated total time ~{Cli.Output.Duration(total)} " +
                          $"(the workers share the machine's threads); outputs in {Path.GetFullPath(s.Output)}");
    }

    /// <summary>Runs a batch with progress, per-file failure lines, a summary and an optional report; returns the exit code.</summary>
    public static int Run(IImageJob job, IReadOnlyList<BatchItem> items, IBatchSettings s, Runtime.SessionSettings session, ImageLoadOptions load, CancellationToken cancel)
    {
        var shard = Shard(s, items);
        var output = Path.GetFullPath(s.Output);
        Directory.CreateDirectory(output);
        new BatchRunInfo
        {
            Input = Path.GetFullPath(s.Input), Shard = shard.ToString(), Include = s.Include, Exclude = s.Exclude, Format = s.Format, FollowLinks = s.FollowLinks,
            Total = items.Count, Items = shard.Select(items).Count, Host = Environment.MachineName, Started = DateTimeOffset.UtcNow,
        }.Write(output, shard);
        var runner = new BatchRunner(job, s.Output, new BatchOptions
        {
            Shard = shard,
            ShardOptionName = ShardOption.Name,
            Workers = s.Workers,
            Session = session,
            Load = load,
            Format = s.Format,
            Resume = !s.Force,
            ThumbnailSize = s.Report is null ? 0 : 160,
        });
        // In logs each failure is a line as it happens; on a terminal they are listed under the finished progress bar
        // (lines written while the bar redraws would be garbled when they wrap).
        runner.Warning += Cli.Output.Warn;
        var deferred = new List<string>();
        runner.ItemCompleted += o =>
        {
            if (o.Status != ManifestStatus.Failed) return;
            var line = $"failed: {o.Item.RelativePath}: {o.Entry.Error}";
            if (Cli.Output.Interactive) deferred.Add(line);
            else Cli.Output.Info(line);
        };
        var summary = IterationProgress.Run("batch", report =>
        {
            runner.ProgressChanged += p => report(p.Fraction,
                $"{p.Completed}/{p.Total} ({p.Done} done, {p.Skipped} skipped, {p.Failed} failed)", p.Eta);
            return runner.Run(items, cancel);
        });

        deferred.Sort(StringComparer.Ordinal);
        foreach (var line in deferred) Cli.Output.Info(line);
        if (s.Report is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(s.Report))!);
            BatchReport.Write(s.Report, summary, $"mlstyle batch {job.Kind}: {s.Input} -> {s.Output}");
        }
        Console.WriteLine($"batch: {summary.Total} images: {summary.Done} done, {summary.Skipped} skipped, {summary.Failed} failed" +
                          $"{(summary.Cancelled ? $", {summary.Abandoned + summary.NotStarted} not done" : "")} in {Cli.Output.Duration(summary.Elapsed)} " +
                          $"({summary.ImagesPerMinute:F1} images/min); manifest {Path.Combine(output, shard.ManifestFileName)}" +
                          (s.Report is null ? "" : $"; report {s.Report}"));
        if (summary.Cancelled)
        {
            Cli.Output.Error($"cancelled: {summary.Abandoned} image{(summary.Abandoned == 1 ? "" : "s")} in flight abandoned; run the same command again to resume");
            return ExitCodes.Cancelled;
        }
        return summary.Failed > 0 ? ExitCodes.PartialFailure : ExitCodes.Ok;
    }
}
