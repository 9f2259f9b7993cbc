using System.Diagnostics;
using MLStyle.Batch;
using MLStyle.Imaging;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Stylizers;

namespace MLStyle.Cli.Commands;

/// <summary>Options shared by <c>mlstyle apply</c> and <c>mlstyle batch apply</c>.</summary>
public class ApplySettings : RuntimeSettings
{
    [CommandOption("-m|--model <ONNX>")]
    [Description("Required. The styliser: a file 'mlstyle train' wrote, or any fast-neural-style ONNX file (one RGB 0-255 input and output).")]
    public string Model { get; init; } = "";

    [CommandOption("--size <PIXELS>")]
    [Description("Resize the long side to this first (default: the image's size).")]
    public int? Size { get; init; }

    [CommandOption("--preserve-colors")]
    [Description("Keep the photo's colours (luminance from the styliser, chroma from the photo).")]
    public bool PreserveColors { get; init; }

    [CommandOption("--style-weights <W1,W2,...>")]
    [Description("For a styliser trained on several styles (mlstyle train --styles): the blend, one weight per style in training order, e.g. 0.7,0.3 (non-negative; normalised to sum 1). Default: the equal blend.")]
    public string? StyleWeights { get; init; }

    /// <summary>The apply options.</summary>
    public StylizerApplyOptions Options() => new()
    {
        Size = Size,
        PreserveColors = PreserveColors,
        StyleWeights = StyleWeights is null ? null : BackboneSettings.Floats(StyleWeights, "--style-weights") is { Count: > 0 } w ? w
            : throw new MLStyleException($"invalid --style-weights '{StyleWeights}': expected numbers separated by commas"),
    };

    /// <inheritdoc />
    public override ValidationResult Validate()
    {
        return RequiredOptions.Missing((Model, "--model")) ?? base.Validate();
    }
}

/// <summary><c>mlstyle apply</c>: stylises one image with a feed-forward styliser.</summary>
public sealed class ApplyCommand : Command<ApplyCommand.Settings>
{
    /// <summary>Options of <c>mlstyle apply</c>.</summary>
    public sealed class Settings : ApplySettings
    {
        [CommandOption("-i|--input <IMAGE>")]
        [Description("Required. The photo.")]
        public string Input { get; init; } = "";

        [CommandOption("-o|--output <IMAGE>")]
        [Description("Required. Output image (.png or .jpg), written atomically.")]
        public string Output { get; init; } = "";

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            return RequiredOptions.Missing((Input, "--input"), (Output, "--output")) ?? base.Validate();
        }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var options = s.Options();
        options.Validate();
        OutputPaths.CheckWritable(s.Output, imageOutput: true);
        OutputPaths.CheckRun([s.Input, s.Model], (s.Output, "--output"));
        var load = s.LoadOptions();
        var image = ImageIO.Load(s.Input, load);
        var sw = Stopwatch.StartNew();
        using var stylizer = StylizerSession.Open(s.Model, s.Session());
        options.Validate(stylizer);
        var open = sw.Elapsed;
        sw.Restart();
        var result = options.Apply(stylizer, image);
        var run = sw.Elapsed;
        ImageIO.Save(result, s.Output);
        Console.WriteLine($"wrote {s.Output}: {result.Width}x{result.Height} in {run.TotalSeconds:F3} s (session {open.TotalSeconds:F2} s), " +
                          $"peak memory {MLStyle.Cli.Output.Bytes(Process.GetCurrentProcess().PeakWorkingSet64)}, device {stylizer.Device}");
        return ExitCodes.Ok;
    }
}

/// <summary><c>mlstyle batch apply</c>: applies a styliser to every image of a directory tree.</summary>
public sealed class BatchApplyCommand : Command<BatchApplyCommand.Settings>
{
    /// <summary>Options of <c>mlstyle batch apply</c>: those of <c>apply</c> plus the batch options.</summary>
    public sealed class Settings : ApplySettings, IBatchSettings
    {
        [CommandOption("-i|--input <DIR>")]
        [Description("Required. The directory of photos, searched recursively.")]
        public string Input { get; init; } = "";

        [CommandOption("-o|--output <DIR>")]
        [Description("Required. Where the outputs go, mirroring the input tree, with manifest.jsonl.")]
        public string Output { get; init; } = "";

        [CommandOption("--include <GLOB>")]
        [Description("Only files matching this glob (repeatable; default: the image formats).")]
        public string[]? Include { get; init; }

        [CommandOption("--exclude <GLOB>")]
        [Description("Leave out files matching this glob (repeatable).")]
        public string[]? Exclude { get; init; }

        [CommandOption("--workers <N>")]
        [Description("Images processed at once, each with its own session; --threads is divided between them (default 1).")]
        public int Workers { get; init; } = 1;

        [CommandOption("--format <FORMAT>")]
        [Description("Output format: png (default) or jpg.")]
        public string Format { get; init; } = "png";

        [CommandOption("--report <HTML>")]
        [Description("Write an HTML report with before/after thumbnails.")]
        public string? Report { get; init; }

        [CommandOption("--force")]
        [Description("Redo every image, even those an earlier run finished (default: resume).")]
        public bool Force { get; init; }

        [CommandOption("--follow-links")]
        [Description("Follow symbolic links under --input (default: they are skipped and reported); never into --output, never in cycles.")]
        public bool FollowLinks { get; init; }

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
        var options = s.Options();
        options.Validate();
        var items = BatchCli.Discover(s, [s.Model]);
        var model = OnnxModels.Load(s.Model);
        var job = new StylizerJob(model, Path.GetFileName(s.Model), ContentHash.OfFile(s.Model), options);
        Cli.Output.Info($"batch apply: {items.Count} images from {s.Input} with {Path.GetFileName(s.Model)} " +
                        $"({(options.Size is { } size ? $"{size} px" : "input sizes")}, {s.Workers} worker{(s.Workers == 1 ? "" : "s")} x " +
                        $"{BatchRunner.ThreadsPerWorker(s.Threads, s.Workers)} threads)");
        return BatchCli.Run(job, items, s, s.Session(), s.LoadOptions(), cancel);
    }
}
