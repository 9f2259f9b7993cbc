using System.ComponentModel;
using MLStyle.Engines;
using MLStyle.Imaging;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Stylizers;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLStyle.Cli.Commands;

/// <summary><c>mlstyle train</c>: trains a feed-forward styliser.</summary>
public sealed class TrainCommand : Command<TrainCommand.Settings>
{
    /// <summary>Options of <c>mlstyle train</c>.</summary>
    public sealed class Settings : ObjectiveSettings
    {
        [CommandOption("-s|--style <IMAGE>")]
        [Description("The style image (this or --styles is required).")]
        public string Style { get; init; } = "";

        [CommandOption("--styles <IMAGES>")]
        [Description("Instead of --style: several style images, comma-separated, for ONE network that holds them all (conditional instance norm); 'mlstyle apply --style-weights' blends them in this order.")]
        public string? Styles { get; init; }

        [CommandOption("-c|--content <DIRS>")]
        [Description("Required. Folder(s) of content photos, comma-separated (searched recursively; unreadable files are skipped).")]
        public string Content { get; init; } = "";

        [CommandOption("--exclude <FILES>")]
        [Description("Photos to leave out of training, comma-separated (e.g. the ones you will judge the styliser on).")]
        public string? Exclude { get; init; }

        [CommandOption("-o|--output <ONNX>")]
        [Description("Required. The trained styliser (.onnx), written atomically at every checkpoint and at the end.")]
        public string Output { get; init; } = "";

        [CommandOption("--size <PIXELS>")]
        [Description("Side of the random square crops trained on (default 128, a multiple of 4).")]
        public int Size { get; init; } = 128;

        [CommandOption("--batch <N>")]
        [Description("Crops per iteration (default 4).")]
        public int Batch { get; init; } = 4;

        [CommandOption("--iterations <N>")]
        [Description("Adam steps (default 2000).")]
        public int Iterations { get; init; } = 2000;

        [CommandOption("--time-limit <DURATION>")]
        [Description("Stop after this long, e.g. 30m, 1h, 90s (default: none).")]
        public string? TimeLimit { get; init; }

        [CommandOption("--width <CHANNELS>")]
        [Description("Channels of the first layer (default 16; Johnson et al.: 32). Deeper layers have 2x and 4x.")]
        public int Width { get; init; } = 16;

        [CommandOption("--residual-blocks <N>")]
        [Description("Residual blocks (default 5).")]
        public int ResidualBlocks { get; init; } = 5;

        [CommandOption("--no-input-skip")]
        [Description("Johnson et al.'s network exactly: no skip from the input photo to the output (starts from grey; trains slower).")]
        public bool NoInputSkip { get; init; }

        [CommandOption("--skip-range <R>")]
        [Description("The input skip starts from the photo squeezed into the middle R of 0-255, where the output sigmoid keeps a gradient (default: none, the photo clipped to 2-98 %).")]
        public string? SkipRange { get; init; }

        [CommandOption("--learning-rate <LR>")]
        [Description("Adam learning rate (default 1e-3).")]
        public string LearningRate { get; init; } = "1e-3";

        [CommandOption("--style-size <PIXELS>")]
        [Description("Long side of the style image for its Gram matrices: the stroke size learnt (default: 4 x --size).")]
        public int? StyleSize { get; init; }

        [CommandOption("--jitter <PIXELS>")]
        [Description("Random shift, 0 to PIXELS in each direction, of the styliser's output before the backbone (a multiple of 4; default 4, 0: none).")]
        public int? Jitter { get; init; }

        [CommandOption("--chroma-tv-weight <W>")]
        [Description("Weight of the total variation of the two chroma channels, on top of --tv-weight: against colour fringes and hatching (default 30000; 0: none).")]
        public string? ChromaTvWeight { get; init; }

        [CommandOption("--checkpoint-every <N>")]
        [Description("Write the styliser and OUTPUT.ckpt every N iterations (default 100; 0: only at the end).")]
        public int CheckpointEvery { get; init; } = 100;

        [CommandOption("--resume")]
        [Description("Continue from OUTPUT.ckpt (same settings): the run goes on as if it had never stopped.")]
        public bool Resume { get; init; }

        [CommandOption("--preview <IMAGE>")]
        [Description("Stylise this photo at every checkpoint (OUTPUT.iterN.png).")]
        public string? Preview { get; init; }

        [CommandOption("--preview-size <PIXELS>")]
        [Description("Long side of the preview (default 512).")]
        public int PreviewSize { get; init; } = 512;

        [CommandOption("--plot <PNG>")]
        [Description("Draw the training loss curves into this PNG (at every checkpoint and at the end).")]
        public string? Plot { get; init; }

        [CommandOption("--smoothing <MODE>")]
        [Description("Activation smoothing before the losses: none or softmax (Wang et al. 2021). Default: the backbone's.")]
        public string? Smoothing { get; init; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            if (!string.IsNullOrEmpty(Style) && Styles is not null) return ValidationResult.Error("give either --style (one style) or --styles (several), not both");
            if (RequiredOptions.Missing((Styles ?? Style, "--style"), (Content, "--content"), (Output, "--output")) is { } missing) return missing;
            if (CheckpointEvery < 0) return ValidationResult.Error("--checkpoint-every must be 0 or more");
            if (PreviewSize < 16) return ValidationResult.Error("--preview-size must be at least 16");
            return base.Validate();
        }

        /// <summary>The training options these settings describe.</summary>
        public StylizerTrainingOptions Options() => new()
        {
            CropSize = Size,
            BatchSize = Batch,
            Iterations = Iterations,
            TimeLimit = TimeLimit is null ? null : Durations.Parse(TimeLimit, "--time-limit"),
            Shape = new StylizerShape(Width, ResidualBlocks, !NoInputSkip, Float(SkipRange, "--skip-range")),
            LearningRate = Float(LearningRate, "--learning-rate")!.Value,
            Seed = Seed,
            StyleSize = StyleSize,
            ContentWeight = ContentWeightValue(),
            StyleWeight = StyleWeightValue(),
            TvWeight = TvWeightValue(),
            ContentLayers = ContentLayerList(),
            StyleLayers = StyleLayerList(),
            Smoothing = Smoothing?.ToLowerInvariant() switch
            {
                null => null,
                "none" => ActivationSmoothing.None,
                "softmax" or "swag" => ActivationSmoothing.Softmax,
                _ => throw new MLStyleException($"invalid --smoothing '{Smoothing}': use none or softmax"),
            },
            InputBlur = InputBlur,
            Jitter = Jitter,
            ChromaTvWeight = Float(ChromaTvWeight, "--chroma-tv-weight"),
        };

        /// <summary>The style image files: <c>--style</c>, or the list <c>--styles</c>.</summary>
        public IReadOnlyList<string> StyleFiles()
        {
            if (Styles is null)
            {
                // A comma in --style is a file name here, as always; a missing file that looks like a list gets a hint.
                if (Style.Contains(',') && !File.Exists(Style))
                    throw new MLStyleException($"style image '{Style}' not found; to train one network on several styles, use --styles {Style}");
                return new[] { Style };
            }
            var list = Styles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (list.Length < 2) throw new MLStyleException($"--styles needs at least two style images, comma-separated (one style: --style)");
            if (list.Length > 64) throw new MLStyleException($"--styles: at most 64 style images, not {list.Length}");
            return list;
        }
    }

    /// <summary>The preview file of style <paramref name="k"/> of <paramref name="styles"/> at an iteration: <c>OUTPUT.iterN.png</c>, or <c>OUTPUT.styleK.iterN.png</c> (K from 1) for several styles.</summary>
    internal static string PreviewPath(string output, int styles, int k, int iteration) =>
        OutputPaths.Snapshot(Path.ChangeExtension(output, styles > 1 ? $".style{k + 1}.png" : ".png"), iteration);

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var options = s.Options();
        options.Validate();
        if (Path.GetExtension(s.Output).ToLowerInvariant() != ".onnx") throw new MLStyleException($"the styliser is written as .onnx: '{s.Output}'");
        var styleFiles = s.StyleFiles();
        OutputPaths.CheckWritable(Path.ChangeExtension(s.Output, ".png"), imageOutput: true);
        if (s.Plot is not null) OutputPaths.CheckWritable(s.Plot, imageOutput: false);
        var checkpointPath = s.Output + ".ckpt";
        if (s.Resume && !File.Exists(checkpointPath)) throw new MLStyleException($"--resume: no checkpoint '{checkpointPath}'");
        var load = s.LoadOptions();
        var styles = styleFiles.Select(f => ImageIO.Load(f, load)).ToList();
        var preview = s.Preview is null ? null : ImageIO.ResizeToLongSide(ImageIO.Load(s.Preview, load), s.PreviewSize);
        OutputPaths.CheckRun([.. styleFiles, s.Preview, OutputPaths.ModelFile(s.Model)], (s.Output, "--output"), (s.Resume ? null : checkpointPath, "--output"), (s.Plot, "--plot"));
        var dirs = s.Content.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var exclude = s.Exclude?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? Array.Empty<string>();
        var photos = TrainingPhotos.Load(dirs, options.StylizerCropSize, exclude, s.MaxPixels);
        foreach (var (path, reason) in photos.Skipped) MLStyle.Cli.Output.Warn($"skipped {path}: {reason}");
        var backbone = s.Backbone();
        var session = s.Session();
        var resume = s.Resume ? TrainingCheckpoint.Load(checkpointPath) : null;

        void Plot(IReadOnlyList<TrainingRecord> h)
        {
            if (s.Plot is null || h.Count == 0) return;
            var series = new Dictionary<string, IReadOnlyList<double>>
            {
                ["total"] = h.Select(r => (double)r.Loss).ToList(),
                ["content"] = h.Select(r => (double)r.Content).ToList(),
            };
            if (styles.Count == 1) series["style"] = h.Select(r => (double)r.Style).ToList();
            else
                for (int k = 0; k < styles.Count; k++)
                {
                    // Each style's loss at its own iterations, held until its next one (a step line per style).
                    double last = double.NaN;
                    series[$"style {k + 1} ({Path.GetFileName(styleFiles[k])})"] = h.Select(r =>
                        last = StylizerTrainer.StyleOf(options.Seed, r.Iteration - 1, styles.Count) == k ? r.Style : last).ToList();
                }
            series["tv"] = h.Select(r => (double)r.Tv).ToList();
            LossPlot.Save(s.Plot, series, $"training {Path.GetFileName(s.Output)} on {string.Join(", ", styleFiles.Select(Path.GetFileName))}", options: new LossPlotOptions { FirstIteration = 1 });
        }

        var trainer = new StylizerTrainer(backbone, session)
        {
            CheckpointEvery = s.CheckpointEvery,
            Checkpoint = (ckpt, model) =>
            {
                // The model first: a kill between the two writes leaves a checkpoint that is at most one interval older.
                OnnxModels.Save(model, s.Output);
                ckpt.Save(checkpointPath);
                Plot(ckpt.History);
                if (preview is not null)
                {
                    // One preview per style (one-hot weights).
                    using var st = new StylizerSession(model, session);
                    for (int k = 0; k < styles.Count; k++)
                        ImageIO.Save(st.Apply(preview, styles.Count == 1 ? null : Enumerable.Range(0, styles.Count).Select(i => i == k ? 1f : 0f).ToArray()),
                            PreviewPath(s.Output, styles.Count, k, ckpt.Adam.Iteration));
                }
            },
        };
        MLStyle.Cli.Output.Info($"training a width-{options.Shape.Width} styliser on {photos.Count} photos ({photos.Skipped.Count} skipped) with {string.Join(", ", styleFiles.Select(Path.GetFileName))} " +
                                $"on {backbone.Name}: {options.CropSize}px crops, batch {options.BatchSize}, {options.Iterations} iterations" +
                                $"{(options.TimeLimit is { } tl ? $" or {MLStyle.Cli.Output.Duration(tl)}" : "")}, device {session.Device}" +
                                $"{(resume is not null ? $", resuming at iteration {resume.Adam.Iteration}" : "")}");
        var result = IterationProgress.Run("train", report => trainer.Train(photos, styles, options, resume,
            new SyncProgress<TrainingProgress>(p => report(
                options.TimeLimit is { } t ? Math.Max(p.Iteration / (double)p.Iterations, p.Elapsed / t) : p.Iteration / (double)p.Iterations,
                $"it {p.Iteration}/{p.Iterations} loss {p.Losses.Loss:G4} (content {p.Losses.Content:G3}, style {p.Losses.Style:G3}, tv {p.Losses.Tv:G3}) {p.ImagesPerSecond:F2} img/s",
                p.Eta)),
            cancel));

        OnnxModels.Save(result.Model, s.Output);
        Plot(result.History);
        var first = result.History.FirstOrDefault();
        var last = result.History.LastOrDefault();
        Console.WriteLine($"wrote {s.Output}: {result.Iterations} iterations, {FastStylizer.ParameterCount(result.Model)} weights, {result.Elapsed.TotalSeconds:F1} s " +
                          $"this run ({(result.Iterations - (resume?.Adam.Iteration ?? 0)) * options.BatchSize / Math.Max(1e-9, result.Elapsed.TotalSeconds):F2} images/s); " +
                          $"loss {first?.Loss:G4} -> {last?.Loss:G4} (content {last?.Content:G3}, style {last?.Style:G3}, tv {last?.Tv:G3}); {result.StopReason}");
        if (result.Diverged)
        {
            MLStyle.Cli.Output.Error($"training diverged: {result.StopReason}; {s.Output} holds the last good weights, {checkpointPath} the last checkpoint");
            return ExitCodes.Diverged;
        }
        return ExitCodes.Ok;
    }
}

/// <summary>Parses durations written as 30m, 1h, 90s, 1h30m or a number of seconds.</summary>
public static class Durations
{
    /// <summary>Parses <paramref name="text"/>; a clear <see cref="MLStyleException"/> otherwise.</summary>
    public static TimeSpan Parse(string text, string option)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text.Trim().ToLowerInvariant(), @"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$");
        double Part(int i) => m.Groups[i].Success ? double.Parse(m.Groups[i].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (!m.Success || text.Trim().Length == 0) throw new MLStyleException($"invalid {option} '{text}': use e.g. 30m, 1h, 90s");
        var t = TimeSpan.FromSeconds(Part(1) * 3600 + Part(2) * 60 + Part(3));
        if (t <= TimeSpan.Zero) throw new MLStyleException($"invalid {option} '{text}': must be positive");
        return t;
    }
}
