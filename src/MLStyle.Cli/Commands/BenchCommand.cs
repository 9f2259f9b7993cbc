using System.Diagnostics;
using System.Text;
using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Losses;
using MLStyle.Runtime;

namespace MLStyle.Cli.Commands;

/// <summary>
/// <c>mlstyle bench</c>: median time of a forward pass and of a loss + input-gradient step (Gram style loss) of a backbone
/// trunk cut at chosen layers, at chosen sizes. All variants are measured in one run so their ratios are comparable.
/// </summary>
public sealed class BenchCommand : Command<BenchCommand.Settings>
{
    /// <summary>Options of <c>mlstyle bench</c>.</summary>
    public sealed class Settings : BackboneSettings
    {
        [CommandOption("--sizes <SIZES>")]
        [Description("Square image sizes (default 256,512).")]
        public string Sizes { get; init; } = "256,512";

        [CommandOption("--layers <LAYERS>")]
        [Description("Where to cut the trunk; the Gram loss is taken there (default for resnet18: layer3.1,layer4.2).")]
        public string? Layers { get; init; }

        [CommandOption("--repeat <N>")]
        [Description("Timed runs per measurement after 2 warm-up runs (default 7); the median is reported.")]
        public int Repeat { get; init; } = 7;

        [CommandOption("--formulations")]
        [Description("Also compare the stride-1 conv input-gradient formulations (Conv with flipped weights vs ConvTranspose).")]
        public bool Formulations { get; init; }

        [CommandOption("--profile <DIR>")]
        [Description("Also profile, with ONNX Runtime, one loss + gradient step of stylize's default objective at each size and print the time per operator and the costliest nodes.")]
        public string? Profile { get; init; }

        [CommandOption("--markdown <FILE>")]
        [Description("Also write the table as Markdown.")]
        public string? Markdown { get; init; }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var backbone = s.Backbone();
        var settings = s.Session() with { Threads = s.Threads > 0 ? s.Threads : 2 };
        var sizes = BackboneSettings.Ints(s.Sizes, "--sizes");
        var layers = s.Layers?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                     ?? (backbone.Name == "resnet18" ? new[] { "layer3.1", "layer4.2" } : new[] { backbone.Layers[^1].Name });
        var rows = new List<string[]>();
        var formulations = s.Formulations
            ? new[]
            {
                (ConvInputGradient.FlippedConv, ConvInputGradient.SubPixelConv),
                (ConvInputGradient.FlippedConv, ConvInputGradient.ConvTranspose),
                (ConvInputGradient.ConvTranspose, ConvInputGradient.ConvTranspose),
            }
            : new[] { (GradientRules.StrideOneInputGradient, GradientRules.StridedInputGradient) };
        var original = (GradientRules.StrideOneInputGradient, GradientRules.StridedInputGradient);
        Output.Info($"bench: {backbone.Name}, threads {settings.Threads}, device {settings.Device}, {s.Repeat} runs + 2 warm-up, median");
        try
        {
            foreach (var layer in layers)
                foreach (var size in sizes)
                {
                    cancel.ThrowIfCancellationRequested();
                    var l = backbone.Layer(layer);
                    var image = RandomImage(size, s.Seed);
                    // Build every variant first, then time them round-robin so load changes hit all of them alike.
                    var runs = new List<(string Name, Action Run, IDisposable[] Owned)>();
                    var fs = new OnnxSession(backbone.TrunkFor(new[] { l }), settings);
                    var fwdInputs = new Dictionary<string, FloatTensor> { [Backbone.InputName] = image };
                    runs.Add(("forward", () => fs.Run(fwdInputs), new IDisposable[] { fs }));
                    foreach (var (one, strided) in formulations)
                    {
                        (GradientRules.StrideOneInputGradient, GradientRules.StridedInputGradient) = (one, strided);
                        var (run, owned) = LossStep(backbone, l, size, image, settings);
                        runs.Add(($"{one}/{strided}", run, owned));
                    }
                    var medians = Medians(s.Repeat, runs.Select(r => r.Run).ToList());
                    long mem = Process.GetCurrentProcess().PeakWorkingSet64;
                    double fwd = medians[0];
                    for (int i = 1; i < runs.Count; i++)
                    {
                        rows.Add(new[] { layer, $"{size}²", runs[i].Name, $"{fwd:F1}", $"{medians[i]:F1}", $"{medians[i] / fwd:F2}", Output.Bytes(mem) });
                        Output.Info($"  {layer} {size}² {runs[i].Name}: forward {fwd:F1} ms, loss+grad {medians[i]:F1} ms ({medians[i] / fwd:F2}x)");
                    }
                    foreach (var r in runs) foreach (var o in r.Owned) o.Dispose();
                }
        }
        finally { (GradientRules.StrideOneInputGradient, GradientRules.StridedInputGradient) = original; }

        if (s.Profile is not null)
            foreach (var size in sizes)
            {
                Output.Info($"profile: stylize's default objective at {size}²");
                var (model, inputs) = DefaultObjectiveStep(backbone, size, s.Seed, settings);
                ProfileSummary.Run(model, inputs, settings, Path.Combine(s.Profile, $"stylize-{size}"));
            }

        var table = new Table().AddColumns("trunk to", "size", "conv dX (stride 1/strided)", "forward ms", "loss+grad ms", "ratio", "peak RSS").Border(TableBorder.Simple);
        foreach (var r in rows) table.AddRow(r.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
        if (s.Markdown is not null)
        {
            var sb = new StringBuilder();
            sb.AppendLine("| trunk to | size | conv dX (stride 1/strided) | forward ms | loss+grad ms | ratio | peak RSS |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var r in rows) sb.AppendLine("| " + string.Join(" | ", r) + " |");
            File.WriteAllText(s.Markdown, sb.ToString());
        }
        return ExitCodes.Ok;
    }

    static FloatTensor RandomImage(int size, int seed)
    {
        var rng = new Random(seed);
        var d = new float[3 * size * size];
        for (int i = 0; i < d.Length; i++) d[i] = (float)(rng.NextDouble() * 255);
        return FloatTensor.Of(d, 1, 3, size, size);
    }

    static (Action Run, IDisposable[] Owned) LossStep(Backbone backbone, LayerInfo layer, int size, FloatTensor image, SessionSettings settings)
    {
        var spec = new StyleObjectiveSpec(backbone, Array.Empty<WeightedLayer>(), new[] { new WeightedLayer(layer.Name, 1f) }, 1f, 1f, 0f, ActivationSmoothing.None);
        Dictionary<string, FloatTensor> targets;
        using (var ts = new OnnxSession(StyleObjective.BuildTargetModel(spec), settings))
            targets = ts.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = RandomImage(size, 99) });
        var model = StyleObjective.BuildLossModel(spec, size, size, Array.Empty<long[]>());
        var session = new OnnxSession(model, settings);
        var inputs = new Dictionary<string, FloatTensor>(targets) { [Backbone.InputName] = image };
        var outputs = new Dictionary<string, FloatTensor>
        {
            [StyleObjective.Loss] = new(new float[1], Array.Empty<long>()),
            [StyleObjective.ImageGrad] = new(new float[image.Data.Length], image.Shape),
        };
        var bound = session.Bind(inputs, outputs);
        return (bound.Run, new IDisposable[] { bound, session });
    }

    /// <summary>The loss + gradient model of stylize's default objective on a square random image, with its inputs.</summary>
    static (global::Onnx.ModelProto Model, Dictionary<string, FloatTensor> Inputs) DefaultObjectiveStep(Backbone backbone, int size, int seed, SessionSettings settings)
    {
        var spec = new Engines.StyleTransferOptions().Objective(backbone);
        var inputs = new Dictionary<string, FloatTensor>();
        using (var ts = new OnnxSession(StyleObjective.BuildTargetModel(spec), settings))
        {
            var content = ts.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = RandomImage(size, seed + 1) },
                Enumerable.Range(0, spec.ContentLayers.Count).Select(StyleObjective.ContentTarget).ToList());
            var style = ts.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = RandomImage(size, seed + 2) },
                Enumerable.Range(0, spec.StyleLayers.Count).Select(StyleObjective.StyleTarget).ToList());
            foreach (var (k, v) in content.Concat(style)) inputs[k] = v;
        }
        var shapes = Enumerable.Range(0, spec.ContentLayers.Count).Select(i => inputs[StyleObjective.ContentTarget(i)].Shape).ToList();
        inputs[Backbone.InputName] = RandomImage(size, seed);
        return (StyleObjective.BuildLossModel(spec, size, size, shapes), inputs);
    }

    /// <summary>Median milliseconds of each action over <paramref name="repeat"/> round-robin rounds after 2 warm-up rounds.</summary>
    internal static double[] Medians(int repeat, IReadOnlyList<Action> runs)
    {
        var t = runs.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < Math.Max(1, repeat) + 2; round++)
            for (int i = 0; i < runs.Count; i++)
            {
                var sw = Stopwatch.StartNew();
                runs[i]();
                if (round >= 2) t[i].Add(sw.Elapsed.TotalMilliseconds);
            }
        return t.Select(x => x.OrderBy(v => v).ElementAt(x.Count / 2)).ToArray();
    }
}
