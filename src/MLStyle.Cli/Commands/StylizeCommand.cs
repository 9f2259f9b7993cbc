using System.ComponentModel;
using System.Globalization;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLStyle.Cli.Commands;

/// <summary><c>mlstyle stylize</c>.</summary>
public sealed class StylizeCommand : Command<StylizeCommand.Settings>
{
    /// <summary>Options of <c>mlstyle stylize</c>.</summary>
    public sealed class Settings : BackboneSettings
    {
        [CommandOption("-c|--content <IMAGE>")]
        [Description("The content photo.")]
        public string Content { get; init; } = "";

        [CommandOption("-s|--style <IMAGES>")]
        [Description("Style image(s), comma-separated.")]
        public string Style { get; init; } = "";

        [CommandOption("-o|--output <IMAGE>")]
        [Description("Output image (.png or .jpg), written atomically.")]
        public string Output { get; init; } = "";

        [CommandOption("--size <PIXELS>")]
        [Description("Long side of the output (default 512).")]
        public int Size { get; init; } = 512;

        [CommandOption("--iterations <N>")]
        [Description("Iterations per scale (default 300).")]
        public int Iterations { get; init; } = 300;

        [CommandOption("--optimizer <NAME>")]
        [Description("lbfgs (default) or adam.")]
        public string Optimizer { get; init; } = "lbfgs";

        [CommandOption("--learning-rate <LR>")]
        [Description("Step size (default 1 for lbfgs, 2 for adam on 0-255 pixels).")]
        public string? LearningRate { get; init; }

        [CommandOption("--history <N>")]
        [Description("L-BFGS history pairs (default 100).")]
        public int History { get; init; } = 100;

        [CommandOption("--line-search <MODE>")]
        [Description("L-BFGS line search: none (default, one evaluation per iteration) or strong-wolfe.")]
        public string LineSearch { get; init; } = "none";

        [CommandOption("--content-weight <W>")]
        [Description("Content loss weight (default: the backbone's).")]
        public string? ContentWeight { get; init; }

        [CommandOption("--style-weight <W>")]
        [Description("Style loss weight (default: the backbone's).")]
        public string? StyleWeight { get; init; }

        [CommandOption("--tv-weight <W>")]
        [Description("Total-variation weight (default: the backbone's).")]
        public string? TvWeight { get; init; }

        [CommandOption("--style-blend <WEIGHTS>")]
        [Description("Blend weights of the style images, e.g. 0.7,0.3 (default equal).")]
        public string? StyleBlend { get; init; }

        [CommandOption("--style-scale <F>")]
        [Description("Style images are resized to F times the output size (default 1).")]
        public string StyleScale { get; init; } = "1";

        [CommandOption("--init <INIT>")]
        [Description("content (default), random, or an image path.")]
        public string Init { get; init; } = "content";

        [CommandOption("--preserve-colors")]
        [Description("Keep the content's colours (luminance-only transfer).")]
        public bool PreserveColors { get; init; }

        [CommandOption("--scales <SIZES>")]
        [Description("Coarse-to-fine long sides, e.g. 256,512 (overrides --size).")]
        public string? Scales { get; init; }

        [CommandOption("--content-layers <LAYERS>")]
        [Description("Content layers with optional weights, e.g. layer2.1 or relu4_2:1.")]
        public string? ContentLayers { get; init; }

        [CommandOption("--style-layers <LAYERS>")]
        [Description("Style layers with optional weights, e.g. conv1,layer1.1:0.5.")]
        public string? StyleLayers { get; init; }

        [CommandOption("--smoothing <MODE>")]
        [Description("Activation smoothing before the losses: none or softmax (Wang et al. 2021). Default: the backbone's.")]
        public string? Smoothing { get; init; }

        [CommandOption("--tolerance <T>")]
        [Description("Stop a scale early when the loss changes by less than T for 5 iterations (default 1e-5; 0: never).")]
        public string Tolerance { get; init; } = "1e-5";

        [CommandOption("--save-every <N>")]
        [Description("Also write the image every N iterations (OUTPUT.iterN.ext).")]
        public int SaveEvery { get; init; }

        [CommandOption("--plot <PNG>")]
        [Description("Draw the loss curves into this PNG.")]
        public string? Plot { get; init; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Content)) return ValidationResult.Error("--content is required");
            if (string.IsNullOrWhiteSpace(Style)) return ValidationResult.Error("--style is required");
            if (string.IsNullOrWhiteSpace(Output)) return ValidationResult.Error("--output is required");
            if (SaveEvery < 0) return ValidationResult.Error("--save-every must be 0 or more");
            return base.Validate();
        }

        /// <summary>The engine options these settings describe.</summary>
        public StyleTransferOptions Options(int styleCount) => new()
        {
            Size = Size,
            Iterations = Iterations,
            Optimizer = Optimizer.ToLowerInvariant(),
            LearningRate = Float(LearningRate, "--learning-rate"),
            LbfgsHistory = History,
            LineSearch = LineSearch.ToLowerInvariant() switch
            {
                "none" => MLStyle.Optimization.LineSearch.None,
                "strong-wolfe" or "strongwolfe" or "wolfe" => MLStyle.Optimization.LineSearch.StrongWolfe,
                _ => throw new MLStyleException($"invalid --line-search '{LineSearch}': use none or strong-wolfe"),
            },
            ContentWeight = Float(ContentWeight, "--content-weight"),
            StyleWeight = Float(StyleWeight, "--style-weight"),
            TvWeight = Float(TvWeight, "--tv-weight"),
            StyleBlend = StyleBlend is null ? null : Floats(StyleBlend, "--style-blend"),
            StyleScale = Float(StyleScale, "--style-scale")!.Value,
            Init = Init,
            Seed = Seed,
            PreserveColors = PreserveColors,
            Scales = Scales is null ? null : Ints(Scales, "--scales"),
            ContentLayers = ContentLayers is null ? null : WeightedLayer.ParseList(ContentLayers),
            StyleLayers = StyleLayers is null ? null : WeightedLayer.ParseList(StyleLayers),
            Smoothing = Smoothing?.ToLowerInvariant() switch
            {
                null => null,
                "none" => ActivationSmoothing.None,
                "softmax" or "swag" => ActivationSmoothing.Softmax,
                _ => throw new MLStyleException($"invalid --smoothing '{Smoothing}': use none or softmax"),
            },
            Tolerance = Float(Tolerance, "--tolerance")!.Value,
        };

        static float? Float(string? s, string option) =>
            s is null ? null
            : float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v) ? v
            : throw new MLStyleException($"invalid {option} '{s}': expected a number");
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var styles = s.Style.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var options = s.Options(styles.Length);
        options.Validate(styles.Length);
        OutputPaths.CheckWritable(s.Output, imageOutput: true);
        if (s.Plot is not null) OutputPaths.CheckWritable(s.Plot, imageOutput: false);
        if (options.Init is not ("content" or "random") && !File.Exists(options.Init))
            throw new MLStyleException($"--init: '{options.Init}' is neither content, random nor an existing image");

        var load = new ImageLoadOptions { MaxPixels = s.MaxPixels };
        var content = ImageIO.Load(s.Content, load);
        var styleImages = styles.Select(p => ImageIO.Load(p, load)).ToList();
        var backbone = s.Backbone();
        var engine = new StyleTransferEngine(backbone, s.Session())
        {
            SnapshotEvery = s.SaveEvery,
            Snapshot = (it, img) => ImageIO.Save(img, OutputPaths.Snapshot(s.Output, it)),
        };
        var spec = engine.Spec(options);
        MLStyle.Cli.Output.Info($"stylizing {Path.GetFileName(s.Content)} with {string.Join(", ", styles.Select(Path.GetFileName))} on {backbone.Name} " +
                                $"({string.Join(",", options.EffectiveScales)} px, {options.Iterations} iterations, {options.Optimizer}, device {s.Session().Device})");

        var result = IterationProgress.Run("stylize", report => engine.Run(content, styleImages, options,
            new SyncProgress<StyleProgress>(p => report(
                (p.Stage - 1 + p.Iteration / (double)Math.Max(1, p.Iterations)) / p.Stages,
                $"[{p.Stage}/{p.Stages} {p.Width}x{p.Height}] it {p.Iteration}/{p.Iterations} loss {p.Losses.Loss:G4} " +
                $"(content {p.Losses.Content:G3}, style {p.Losses.Style:G3}, tv {p.Losses.Tv:G3})",
                p.Eta)),
            cancel));

        ImageIO.Save(result.Image, s.Output);
        if (s.Plot is not null)
        {
            var series = new Dictionary<string, IReadOnlyList<double>>
            {
                ["total"] = result.History.Select(h => (double)h.Loss).ToList(),
                ["content"] = result.History.Select(h => (double)h.Content).ToList(),
                ["style"] = result.History.Select(h => (double)h.Style).ToList(),
                ["tv"] = result.History.Select(h => (double)h.Tv).ToList(),
            };
            LossPlot.Save(s.Plot, series, $"{Path.GetFileName(s.Content)} x {string.Join("+", styles.Select(Path.GetFileName))}");
        }
        double itps = result.Iterations / Math.Max(1e-9, result.Elapsed.TotalSeconds);
        Console.WriteLine($"wrote {s.Output}: {result.Image.Width}x{result.Image.Height} in {result.Elapsed.TotalSeconds:F1} s, " +
                          $"{result.Iterations} iterations ({itps:F2} it/s), peak memory {MLStyle.Cli.Output.Bytes(result.PeakMemoryBytes)}; " +
                          $"content {result.Initial.Content:G3} -> {result.Final.Content:G3}, style {result.Initial.Style:G3} -> {result.Final.Style:G3}, " +
                          $"tv {result.Final.Tv:G3}; {result.StopReason}");
        if (result.Diverged)
        {
            MLStyle.Cli.Output.Error($"optimisation diverged: {result.StopReason}");
            return ExitCodes.Diverged;
        }
        return ExitCodes.Ok;
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread.</summary>
public sealed class SyncProgress<T>(Action<T> handler) : IProgress<T>
{
    /// <inheritdoc />
    public void Report(T value) => handler(value);
}
