using System.Globalization;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;

namespace MLStyle.Cli.Commands;

/// <summary><c>mlstyle stylize</c>.</summary>
public sealed class StylizeCommand : Command<StylizeCommand.Settings>
{
    /// <summary>Options of <c>mlstyle stylize</c>.</summary>
    public sealed class Settings : PlannedStyleTransferSettings
    {
        [CommandOption("-c|--content <IMAGE>")]
        [Description("Required. The content photo.")]
        public string Content { get; init; } = "";

        [CommandOption("-o|--output <IMAGE>")]
        [Description("Required. Output image (.png or .jpg), written atomically.")]
        public string Output { get; init; } = "";

        [CommandOption("--save-every <N>")]
        [Description("Also write the image every N iterations (OUTPUT.iterN.ext).")]
        public int SaveEvery { get; init; }

        [CommandOption("--plot <PNG>")]
        [Description("Draw the loss curves into this PNG.")]
        public string? Plot { get; init; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (RequiredOptions.Missing((Content, "--content"), (Style, "--style"), (Output, "--output")) is { } missing) return missing;
            if (SaveEvery < 0) return ValidationResult.Error("--save-every must be 0 or more");
            return base.Validate();
        }
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
        string?[] inputs = [s.Content, .. styles, options.Init is "content" or "random" ? null : options.Init, OutputPaths.ModelFile(s.Model)];
        OutputPaths.CheckRun(inputs, (s.Output, "--output"), (s.Plot, "--plot"));

        var load = s.LoadOptions();
        var info = Preflights.ProbeChecked(s.Content, load);
        var backbone = s.Backbone();
        OutputPaths.CheckRun([.. inputs, backbone.Source], (s.Output, "--output"), (s.Plot, "--plot"));
        var plan = Preflights.Plan(backbone, options, info.Width, info.Height, s.MemoryLimit(), workers: 1, styles.Length, s.DryRun);
        if (s.DryRun) return ExitCodes.Ok;
        options = plan.Options;
        var content = ImageIO.Load(s.Content, load);
        var styleImages = styles.Select(p => ImageIO.Load(p, load)).ToList();
        var engine = new StyleTransferEngine(backbone, s.Session())
        {
            SnapshotEvery = s.SaveEvery,
            Snapshot = (it, img) =>
            {
                var snapshot = OutputPaths.Snapshot(s.Output, it);
                OutputPaths.CheckRun(inputs, (snapshot, "--save-every"), (s.Output, "--output"), (s.Plot, "--plot"));
                ImageIO.Save(img, snapshot);
            },
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
                          $"tv {result.Final.Tv:G3}; stopped: {result.StopReason}");
        if (result.Diverged)
        {
            MLStyle.Cli.Output.Error($"optimisation diverged: {result.StopReason}");
            return ExitCodes.Diverged;
        }
        if (result.Stalled)
        {
            MLStyle.Cli.Output.Error($"the optimisation made no progress ({result.StopReason}): try --optimizer adam, another --learning-rate or other layers");
            return ExitCodes.NoProgress;
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
