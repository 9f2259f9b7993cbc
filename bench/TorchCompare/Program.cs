// Loss + input-gradient step of one style objective, timed in one process: MLStyle (its own differentiation, run by ONNX
// Runtime) against libtorch's autograd (TorchSharp) on the same network — the embedded ResNet18 trunk with BatchNormalization
// folded, read from the very graph MLStyle runs — and the same loss (Gram style terms, content term).
// Usage: dotnet run -c Release --project bench/TorchCompare -- [--sizes 256,512] [--repeat 7] [--threads 2]
//        [--style-layers conv1,layer1.1,layer2.1,layer3.1] [--content-layers layer2.1]
using System.Diagnostics;
using MLStyle.Backbones;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Runtime;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
var sizes = Arg("--sizes", "256,512").Split(',').Select(int.Parse).ToArray();
int repeat = int.Parse(Arg("--repeat", "7"));
int threads = int.Parse(Arg("--threads", "2"));
var styleLayers = WeightedLayer.ParseList(Arg("--style-layers", "conv1,layer1.1,layer2.1,layer3.1"));
var contentLayers = WeightedLayer.ParseList(Arg("--content-layers", "layer2.1"));

torch.set_num_threads(threads);
var backbone = BackboneFactory.ResNet18();
var spec = new StyleObjectiveSpec(backbone, contentLayers, styleLayers, 1f, 1f, 0f, ActivationSmoothing.None);
var trunk = spec.Trunk(spec.FeatureLayers());
var settings = new SessionSettings { Threads = threads };
Console.WriteLine($"loss + input gradient, {threads} threads, {repeat} runs after 2 warm-ups, median; style {string.Join(",", styleLayers.Select(l => l.Layer))}, content {string.Join(",", contentLayers.Select(l => l.Layer))}");
Console.WriteLine("| size | MLStyle ms | libtorch ms | ratio |");
Console.WriteLine("|---|---|---|---|");

foreach (var size in sizes)
{
    var image = Random(size, 1);
    var styleImage = Random(size, 2);
    var contentImage = Random(size, 3);
    using var targetSession = new OnnxSession(StyleObjective.BuildTargetModel(spec), settings);
    var contentTargets = targetSession.Run(Input(contentImage, size), Enumerable.Range(0, contentLayers.Count).Select(StyleObjective.ContentTarget).ToList());
    var styleTargets = targetSession.Run(Input(styleImage, size), Enumerable.Range(0, styleLayers.Count).Select(StyleObjective.StyleTarget).ToList());

    // MLStyle: the loss model the engine runs, bound once (inputs and outputs in place).
    var shapes = Enumerable.Range(0, contentLayers.Count).Select(i => contentTargets[StyleObjective.ContentTarget(i)].Shape).ToList();
    using var session = new OnnxSession(StyleObjective.BuildLossModel(spec, size, size, shapes), settings);
    var inputs = new Dictionary<string, FloatTensor>(Input(image, size));
    foreach (var (k, v) in contentTargets) inputs[k] = v;
    foreach (var (k, v) in styleTargets) inputs[k] = v;
    var outputs = new Dictionary<string, FloatTensor>
    {
        [StyleObjective.Loss] = new(new float[1], Array.Empty<long>()),
        [StyleObjective.ImageGrad] = new(new float[image.Length], new long[] { 1, 3, size, size }),
    };
    using var bound = session.Bind(inputs, outputs);

    // libtorch: the same trunk interpreted node by node, the same loss, autograd to the image.
    var weights = trunk.Graph.Initializer.ToDictionary(t => t.Name, t => torch.tensor(TensorProtos.ToFloats(t), t.Dims.ToArray()));
    var ct = contentLayers.Select((l, i) => torch.tensor(contentTargets[StyleObjective.ContentTarget(i)].Data, contentTargets[StyleObjective.ContentTarget(i)].Shape)).ToList();
    var st = styleLayers.Select((l, i) => torch.tensor(styleTargets[StyleObjective.StyleTarget(i)].Data, styleTargets[StyleObjective.StyleTarget(i)].Shape)).ToList();
    float torchLoss = 0; float[] torchGrad = Array.Empty<float>();
    void TorchStep()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(image, new long[] { 1, 3, size, size }, requires_grad: true);
        var values = Forward(trunk, x, weights);
        var loss = torch.zeros(1);
        for (int i = 0; i < contentLayers.Count; i++)
            loss = loss + contentLayers[i].Weight * (values[backbone.Layer(contentLayers[i].Layer).Tensor] - ct[i]).pow(2).mean();
        for (int i = 0; i < styleLayers.Count; i++)
        {
            var f = values[backbone.Layer(styleLayers[i].Layer).Tensor];
            var flat = f.reshape(1, f.shape[1], -1);
            var g = flat.matmul(flat.transpose(1, 2)) / (f.shape[1] * f.shape[2] * f.shape[3]);
            loss = loss + styleLayers[i].Weight * 0.25f * (g - st[i]).pow(2).sum();
        }
        loss.backward();
        torchLoss = loss.item<float>();
        torchGrad = x.grad!.data<float>().ToArray();
    }

    var times = Medians(repeat, new Action[] { () => bound.Run(), TorchStep });
    // Both compute the same thing: compare the losses and the gradients.
    bound.Run();
    var g1 = outputs[StyleObjective.ImageGrad].Data;
    double dot = 0, n1 = 0, n2 = 0;
    for (int i = 0; i < g1.Length; i++) { dot += (double)g1[i] * torchGrad[i]; n1 += (double)g1[i] * g1[i]; n2 += (double)torchGrad[i] * torchGrad[i]; }
    Console.WriteLine($"| {size}² | {times[0]:F0} | {times[1]:F0} | {times[0] / times[1]:F2} |");
    Console.Error.WriteLine($"  {size}²: loss MLStyle {outputs[StyleObjective.Loss].Data[0]:G6}, libtorch {torchLoss:G6}; gradient cosine {dot / Math.Sqrt(n1 * n2):F6}, norm ratio {Math.Sqrt(n1 / n2):F4}");
}
return 0;

static float[] Random(int size, int seed)
{
    var r = new Random(seed);
    var d = new float[3 * size * size];
    for (int i = 0; i < d.Length; i++) d[i] = (float)(r.NextDouble() * 255);
    return d;
}

static Dictionary<string, FloatTensor> Input(float[] img, int size) =>
    new() { [Backbone.InputName] = new FloatTensor(img, new long[] { 1, 3, size, size }) };

static double[] Medians(int repeat, IReadOnlyList<Action> runs)
{
    var t = runs.Select(_ => new List<double>()).ToArray();
    for (int round = 0; round < repeat + 2; round++)
        for (int i = 0; i < runs.Count; i++)
        {
            var sw = Stopwatch.StartNew();
            runs[i]();
            if (round >= 2) t[i].Add(sw.Elapsed.TotalMilliseconds);
        }
    return t.Select(x => x.OrderBy(v => v).ElementAt(x.Count / 2)).ToArray();
}

/// <summary>"Same" padding of ONNX auto_pad (SAME_UPPER/SAME_LOWER) or explicit pads, as (left, right, top, bottom).</summary>
static long[] Pads(NodeProto n, Tensor x, long[] kernel, long[] strides)
{
    var mode = Str(n, "auto_pad", "NOTSET");
    if (mode is "SAME_LOWER" or "SAME_UPPER")
    {
        var p = new long[4];
        for (int a = 0; a < 2; a++)
        {
            long input = x.shape[2 + a], output = (input + strides[a] - 1) / strides[a];
            long total = Math.Max(0, (output - 1) * strides[a] + kernel[a] - input);
            long small = total / 2, big = total - small;
            (p[2 * (1 - a)], p[2 * (1 - a) + 1]) = mode == "SAME_LOWER" ? (big, small) : (small, big);
        }
        return p;
    }
    var pads = Ints(n, "pads") ?? new long[4];
    return new[] { pads[1], pads[3], pads[0], pads[2] };
}

static Dictionary<string, Tensor> Forward(ModelProto m, Tensor image, Dictionary<string, Tensor> weights)
{
    var v = new Dictionary<string, Tensor>(weights) { [Backbone.InputName] = image };
    foreach (var n in m.Graph.Node)
    {
        Tensor In(int i) => v[n.Input[i]];
        v[n.Output[0]] = n.OpType switch
        {
            "Add" => In(0) + In(1),
            "Sub" => In(0) - In(1),
            "Mul" => In(0) * In(1),
            "Identity" => In(0),
            "Relu" => F.relu(In(0)),
            "Conv" => Conv(n, In(0), In(1), n.Input.Count > 2 ? In(2) : null),
            "MaxPool" => MaxPool(n, In(0)),
            _ => throw new NotSupportedException($"operator {n.OpType}"),
        };
    }
    return v;
}

static Tensor Conv(NodeProto n, Tensor x, Tensor w, Tensor? b)
{
    var strides = Ints(n, "strides") ?? new long[] { 1, 1 };
    var kernel = new[] { w.shape[2], w.shape[3] };
    var p = Pads(n, x, kernel, strides);
    bool symmetric = p[0] == p[1] && p[2] == p[3];
    var input = symmetric ? x : F.pad(x, p);
    return F.conv2d(input, w, b, strides: strides, padding: symmetric ? new[] { p[2], p[0] } : new long[] { 0, 0 }, groups: (Ints(n, "group") is { } g ? g[0] : 1));
}

static Tensor MaxPool(NodeProto n, Tensor x)
{
    var kernel = Ints(n, "kernel_shape")!;
    var strides = Ints(n, "strides") ?? new long[] { 1, 1 };
    var p = Pads(n, x, kernel, strides);
    bool symmetric = p[0] == p[1] && p[2] == p[3];
    var input = symmetric ? x : F.pad(x, p, value: double.NegativeInfinity);
    return F.max_pool2d(input, kernel, strides, symmetric ? new[] { p[2], p[0] } : null);
}

static long[]? Ints(NodeProto n, string name) =>
    n.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? (a.Ints.Count > 0 ? a.Ints.ToArray() : new[] { a.I }) : null;

static string Str(NodeProto n, string name, string fallback) =>
    n.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.S.ToStringUtf8() : fallback;
