using System.Diagnostics;
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
    public sealed class Settings() : TimingBenchSettings(defaultRepeat: 7)
    {
        [CommandOption("--sizes <SIZES>")]
        [Description("Square image sizes (default 256,512).")]
        public string Sizes { get; init; } = "256,512";

        [CommandOption("--layers <LAYERS>")]
        [Description("Where to cut the trunk; the Gram loss is taken there (default for resnet18: layer3.1,layer4.2).")]
        public string? Layers { get; init; }

        [CommandOption("--profile <DIR>")]
        [Description("Also profile, with ONNX Runtime, one loss + gradient step of stylize's default objective at each size and print the time per operator and the costliest nodes.")]
        public string? Profile { get; init; }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var backbone = s.Backbone();
        var settings = s.TimingSession();
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
        Output.Info($"bench: {backbone.Name}, device {settings.Device}, {s.TimingDescription()}");
        try
        {
            foreach (var layer in layers)
                foreach (var size in sizes)
                {
                    cancel.ThrowIfCancellationRequested();
                    var l = backbone.Layer(layer);
                    var image = Benchmarks.RandomImages(1, size, s.Seed);
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
                    var medians = Benchmarks.Medians(s.Repeats, runs.Select(r => r.Run).ToList());
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

        Benchmarks.Write(s.Markdown, [(["trunk to", "size", "conv dX (stride 1/strided)", "forward ms", "loss+grad ms", "ratio", "peak RSS"], rows)]);
        return ExitCodes.Ok;
    }

    static (Action Run, IDisposable[] Owned) LossStep(Backbone backbone, LayerInfo layer, int size, FloatTensor image, SessionSettings settings)
    {
        var spec = new StyleObjectiveSpec(backbone, Array.Empty<WeightedLayer>(), new[] { new WeightedLayer(layer.Name, 1f) }, 1f, 1f, 0f, ActivationSmoothing.None);
        Dictionary<string, FloatTensor> targets;
        using (var ts = new OnnxSession(StyleObjective.BuildTargetModel(spec), settings))
            targets = ts.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = Benchmarks.RandomImages(1, size, 99) });
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
            var content = ts.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = Benchmarks.RandomImages(1, size, seed + 1) },
                Enumerable.Range(0, spec.ContentLayers.Count).Select(StyleObjective.ContentTarget).ToList());
            var style = ts.Run(new Dictionary<string, FloatTensor> { [Backbone.InputName] = Benchmarks.RandomImages(1, size, seed + 2) },
                Enumerable.Range(0, spec.StyleLayers.Count).Select(StyleObjective.StyleTarget).ToList());
            foreach (var (k, v) in content.Concat(style)) inputs[k] = v;
        }
        var shapes = Enumerable.Range(0, spec.ContentLayers.Count).Select(i => inputs[StyleObjective.ContentTarget(i)].Shape).ToList();
        inputs[Backbone.InputName] = Benchmarks.RandomImages(1, size, seed);
        return (StyleObjective.BuildLossModel(spec, size, size, shapes), inputs);
    }
}
