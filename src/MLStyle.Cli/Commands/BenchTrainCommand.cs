using System.Diagnostics;
using System.Text.Json;
using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Runtime;
using MLStyle.Stylizers;

namespace MLStyle.Cli.Commands;

/// <summary>
/// <c>mlstyle bench train</c>: for styliser widths at one crop size and batch, the median time of the styliser's forward pass,
/// of its forward pass + the gradients of all its weights (the styliser alone, as <c>mlstyle grad</c> would build it), and of a
/// whole training step (styliser, backbone, loss, every weight gradient), timed round-robin in one run; optionally an ONNX
/// Runtime profile of the weight-gradient graph summed per operator and per node.
/// </summary>
public sealed class BenchTrainCommand : Command<BenchTrainCommand.Settings>
{
    /// <summary>Options of <c>mlstyle bench train</c>.</summary>
    public sealed class Settings() : TimingBenchSettings(defaultRepeat: 5)
    {
        [CommandOption("--widths <LIST>")]
        [Description("Styliser widths (default 8,16,32).")]
        public string Widths { get; init; } = "8,16,32";

        [CommandOption("--size <PIXELS>")]
        [Description("Crop size (default 256).")]
        public int Size { get; init; } = 256;

        [CommandOption("--batch <N>")]
        [Description("Batch size (default 4).")]
        public int Batch { get; init; } = 4;

        [CommandOption("--profile <DIR>")]
        [Description("Also profile the weight-gradient graph of each width with ONNX Runtime and print the costliest operators and nodes.")]
        public string? Profile { get; init; }
    }

    /// <inheritdoc />
    public override int Execute(CommandContext context, Settings s, CancellationToken cancel)
    {
        var backbone = s.Backbone();
        var settings = s.TimingSession();
        int n = s.Batch, size = s.Size;
        var spec = StyleObjectiveSpec.FromDefaults(backbone);
        var image = Benchmarks.RandomImages(n, size, s.Seed);
        Output.Info($"bench train: {backbone.Name}, {size}² crops, batch {n}, {s.TimingDescription()}");
        var rows = new List<string[]>();
        foreach (var width in BackboneSettings.Ints(s.Widths, "--widths"))
        {
            cancel.ThrowIfCancellationRequested();
            var model = FastStylizer.Create(new StylizerShape(width), s.Seed);
            var parameters = FastStylizer.Parameters(model).Select(p => p.Name).ToList();
            var fixedModel = model.Clone();
            var dims = fixedModel.Graph.Input[0].Type.TensorType.Shape.Dim;
            dims[0].DimValue = n; dims[2].DimValue = size; dims[3].DimValue = size;
            var grad = Differentiator.Differentiate(fixedModel, FastStylizer.OutputName, parameters);

            using var fwd = new OnnxSession(model, settings);
            var fwdIn = new Dictionary<string, FloatTensor> { [FastStylizer.InputName] = image };
            using var gs = new OnnxSession(grad, settings);
            var gIn = new Dictionary<string, FloatTensor>(fwdIn) { [FastStylizer.OutputName + "_seed"] = image };
            if (s.Formulations) CompareWeightGradients(fixedModel, parameters, fwd, gIn, settings, s.Repeats, width);

            using var targets = new OnnxSession(StyleObjective.BuildTargetModel(spec), settings);
            var grams = StyleTargets.Blended(targets, spec, new[] { new Imaging.ImageTensor(image.Data[..(3 * size * size)], size, size) }, new[] { 1f }, size);
            var training = StylizerTrainer.BuildTrainingModel(model, spec, n, size,
                Enumerable.Range(0, spec.StyleLayers.Count).Select(i => grams[StyleObjective.StyleTarget(i)]).ToList(), out var pIn, out _);
            using var ts = new OnnxSession(training, settings);
            var tIn = new Dictionary<string, FloatTensor> { [StylizerTrainer.ContentInput] = image };
            foreach (var (name, t) in pIn.Zip(FastStylizer.Parameters(model)))
                tIn[name] = FloatTensor.Of(TensorProtos.ToFloats(t), t.Dims.ToArray());

            var m = Benchmarks.Medians(s.Repeats, new Action[] { () => fwd.Run(fwdIn), () => gs.Run(gIn), () => ts.Run(tIn, new[] { StyleObjective.Loss }) });
            long mem = Process.GetCurrentProcess().PeakWorkingSet64;
            rows.Add(new[] { $"{width}", $"{FastStylizer.ParameterCount(model)}", $"{m[0]:F0}", $"{m[1]:F0}", $"{m[1] / m[0]:F2}", $"{m[2]:F0}",
                $"{n * 1000 / m[2]:F2}", Output.Bytes(mem) });
            Output.Info($"  width {width}: forward {m[0]:F0} ms, forward + weight gradients {m[1]:F0} ms ({m[1] / m[0]:F2}x), training step {m[2]:F0} ms");
            if (s.Profile is not null) Profile(s.Profile, grad, gIn, settings, width);
        }
        var headers = new[] { "width", "weights", "styliser forward ms", "forward + weight grads ms", "ratio", "training step ms", "images/s", "peak RSS" };
        Benchmarks.Write(s.Markdown, [(headers, rows)]);
        return ExitCodes.Ok;
    }

    /// <summary>Times forward + weight gradients round-robin for every pair of weight-gradient formulations (small / large kernels).</summary>
    static void CompareWeightGradients(global::Onnx.ModelProto model, List<string> parameters, OnnxSession forward,
        Dictionary<string, FloatTensor> inputs, SessionSettings settings, int repeat, int width)
    {
        var forms = new[] { ConvWeightGradient.Conv, ConvWeightGradient.Gemm };
        var pairs = (from small in forms from large in forms select (small, large)).ToList();
        var original = (GradientRules.SmallKernelWeightGradient, GradientRules.LargeKernelWeightGradient);
        var sessions = new List<OnnxSession>();
        try
        {
            foreach (var (small, large) in pairs)
            {
                (GradientRules.SmallKernelWeightGradient, GradientRules.LargeKernelWeightGradient) = (small, large);
                sessions.Add(new OnnxSession(Differentiator.Differentiate(model, FastStylizer.OutputName, parameters), settings));
            }
            var fwdInputs = new Dictionary<string, FloatTensor> { [FastStylizer.InputName] = inputs[FastStylizer.InputName] };
            var runs = new List<Action> { () => forward.Run(fwdInputs) };
            runs.AddRange(sessions.Select(g => (Action)(() => g.Run(inputs))));
            var m = Benchmarks.Medians(repeat, runs);
            for (int i = 0; i < pairs.Count; i++)
                Output.Info($"  width {width}: weight gradients {pairs[i].small} (≤ {GradientRules.SmallKernelTaps} taps) / {pairs[i].large} (larger): " +
                            $"forward {m[0]:F0} ms, forward + weight gradients {m[i + 1]:F0} ms ({m[i + 1] / m[0]:F2}x)");
        }
        finally
        {
            (GradientRules.SmallKernelWeightGradient, GradientRules.LargeKernelWeightGradient) = original;
            foreach (var g in sessions) g.Dispose();
        }
    }

    static void Profile(string dir, global::Onnx.ModelProto grad, Dictionary<string, FloatTensor> inputs, SessionSettings settings, int width) =>
        ProfileSummary.Run(grad, inputs, settings, Path.Combine(dir, $"stylizer-w{width}"));
}
