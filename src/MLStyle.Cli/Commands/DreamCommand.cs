using MLStyle.Engines;
using MLStyle.Imaging;

namespace MLStyle.Cli.Commands;

/// <summary><c>mlstyle dream</c>: DeepDream.</summary>
public sealed class DreamCommand : Command<DreamCommand.Settings>
{
    /// <summary>
    /// Options of <c>mlstyle dream</c>: the dream options of <see cref="DreamSettings"/> plus one input and output image,
    /// zoom frames and the pre-flight options.
    /// </summary>
    public sealed class Settings : DreamSettings, IPreflightSettings
    {
        [CommandOption("-i|--input <IMAGE>")]
        [Description("Required. The image to dream on.")]
        public string Input { get; init; } = "";

        [CommandOption("-o|--output <IMAGE>")]
        [Description("Required. Output image (.png or .jpg), written atomically; with --frames, the last frame.")]
        public string Output { get; init; } = "";

        [CommandOption("--frames <N>")]
        [Description("Write N zoom frames, each the dream of the zoomed previous one (default 0).")]
        public int Frames { get; init; }

        [CommandOption("--zoom <F>")]
        [Description("Zoom between frames: the central 1-F is scaled back up (default 0.05).")]
        public string Zoom { get; init; } = "0.05";

        [CommandOption("--frames-dir <DIR>")]
        [Description("Where frame_0001.png, ... go (default: OUTPUT-STEM_frames next to the output).")]
        public string? FramesDir { get; init; }

        [CommandOption("--dry-run")]
        [Description("Print the pre-flight estimate (peak memory, time) and exit without running.")]
        public bool DryRun { get; init; }

        [CommandOption("--max-memory <SIZE>")]
        [Description("Memory the dream may use, e.g. 8GiB (default: the machine's); a dream above it is refused (exit 5).")]
        public string? MaxMemory { get; init; }

        /// <inheritdoc />
        public override ValidationResult Validate()
        {
            return RequiredOptions.Missing((Input, "--input"), (Output, "--output")) ?? base.Validate();
        }

        /// <summary>Where frames go: --frames-dir, or OUTPUT-STEM_frames beside the output.</summary>
        public string FramesDirectory => FramesDir ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Output))!, Path.GetFileNameWithoutExtension(Output) + "_frames");

        /// <inheritdoc />
        public override DeepDreamOptions Options(ImageTensor? guide) => base.Options(guide) with
        {
            Frames = Frames,
            Zoom = Number(Zoom, "--zoom"),
            FramesDirectory = Frames > 0 ? FramesDirectory : null,
        };
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        s.CheckOptions(); // every option, before any file is read
        OutputPaths.CheckWritable(s.Output, imageOutput: true);
        if (s.Frames > 0)
        {
            var dir = Path.GetFullPath(s.FramesDirectory);
            if (File.Exists(dir)) throw new MLStyleException($"--frames-dir '{s.FramesDirectory}' is a file");
            if (!Directory.Exists(Path.GetDirectoryName(dir))) throw new MLStyleException($"the parent of --frames-dir '{s.FramesDirectory}' does not exist");
        }

        string?[] inputs = [s.Input, s.Guide, OutputPaths.ModelFile(s.Model)];
        OutputPaths.CheckRun(inputs, [(s.Output, "--output"),
            .. Enumerable.Range(1, Math.Max(0, s.Frames)).Select(f => ((string?)DeepDreamEngine.FramePath(s.FramesDirectory, f), "--frames"))]);

        var load = s.LoadOptions();
        var info = Preflights.ProbeChecked(s.Input, load);
        var planned = s.Options(null);
        var backbone = s.Backbone();
        if (s.DryRun)
        {
            Console.WriteLine(Preflights.Describe(Preflight.EstimateDream(backbone, planned, info.Width, info.Height), workers: 1, s.MemoryLimit()));
            Preflights.PlanDream(backbone, planned, info.Width, info.Height, s.MemoryLimit());
            return ExitCodes.Ok;
        }
        Preflights.PlanDream(backbone, planned, info.Width, info.Height, s.MemoryLimit());
        var input = ImageIO.Load(s.Input, load);
        var guide = s.Guide is null ? null : ImageIO.Load(s.Guide, load);
        var options = s.Options(guide);
        var engine = new DeepDreamEngine(backbone, s.Session());
        var spec = engine.Spec(options); // unknown layers and out-of-range channels fail here, before any work
        var (w, h) = options.Size is { } size ? ImageIO.SizeForLongSide(input.Width, input.Height, size) : (input.Width, input.Height);
        var octaves = options.OctaveSizes(w, h);
        string what = spec.Guided ? $"guided by {Path.GetFileName(s.Guide)}" : spec.Reduction.ToString().ToLowerInvariant();
        MLStyle.Cli.Output.Info($"dreaming {Path.GetFileName(s.Input)} on {backbone.Name} {string.Join(",", spec.Layers.Select(l => l.Weight == 1 ? l.Layer : $"{l.Layer}:{l.Weight:G}"))}" +
                                $"{(spec.Channels is null ? "" : $" channels {string.Join(",", spec.Channels)}")} ({what}); {w}x{h}, {octaves.Count} octaves, " +
                                $"{options.IterationsPerOctave} iterations, step {options.StepSize:G}, jitter {options.Jitter}" +
                                $"{(options.Tile > 0 ? $", tiles {options.Tile} (overlap {options.TileOverlap})" : "")}" +
                                $"{(options.Frames > 0 ? $", {options.Frames} frames (zoom {options.Zoom:G}) into {options.FramesDirectory}" : "")}; device {s.Session().Device}");

        var result = IterationProgress.Run("dream", report => engine.Run(input, options,
            new SyncProgress<DreamProgress>(p => report(p.Fraction,
                $"{(p.Frames > 1 ? $"frame {p.Frame}/{p.Frames} " : "")}octave {p.Octave}/{p.Octaves} {p.Width}x{p.Height} it {p.Iteration}/{p.Iterations} objective {p.Objective:G4}",
                p.Eta)),
            cancel));

        ImageIO.Save(result.Image, s.Output);
        double sps = result.Steps / Math.Max(1e-9, result.Elapsed.TotalSeconds);
        var last = result.History.Where(r => r.Frame == result.History[^1].Frame && r.Octave == result.History[^1].Octave).ToList();
        string objective = last.Count > 0 ? $"; objective at {last[0].Width}x{last[0].Height} {last[0].Objective:G4} -> {last[^1].Objective:G4}" : "";
        Console.WriteLine($"wrote {s.Output}: {result.Image.Width}x{result.Image.Height} in {result.Elapsed.TotalSeconds:F1} s, " +
                          $"{result.Steps} steps ({sps:F2} steps/s), peak memory {MLStyle.Cli.Output.Bytes(result.PeakMemoryBytes)}" +
                          $"{objective}{(result.FramesWritten.Count > 0 ? $"; {result.FramesWritten.Count} frames in {options.FramesDirectory}" : "")}");
        return ExitCodes.Ok;
    }
}
