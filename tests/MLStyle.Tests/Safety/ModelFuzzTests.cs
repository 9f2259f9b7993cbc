#nullable enable
using Google.Protobuf;
using MLStyle.Autodiff;
using MLStyle.Backbones;
using MLStyle.Engines;
using MLStyle.Losses;
using MLStyle.Onnx;
using MLStyle.Tests.Support;
using Onnx;
using Xunit.Abstractions;

namespace MLStyle.Tests.Safety;

/// <summary>
/// Generated malformed models (mutated fields, huge/negative/overflowing dimensions, wrong types, broken references, random
/// bytes) through everything MLStyle does with a model before ONNX Runtime: loading and validation, differentiation, saving,
/// backbone creation and the style-transfer graphs. A fixed seed and number of cases; each must either work or fail with an
/// <see cref="MLStyleException"/> (the CLI's exit code 2), within a time bound.
/// </summary>
public sealed class ModelFuzzTests(ITestOutputHelper output) : IDisposable
{
    const int Cases = 500;
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    readonly TestImages.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    static readonly string[] Ops = ["Conv", "Relu", "MaxPool", "AveragePool", "Gemm", "Reshape", "Transpose", "Concat", "Slice", "Pad",
        "Softmax", "BatchNormalization", "GlobalAveragePool", "Flatten", "Add", "Mul", "MatMul", "Squeeze", "Unsqueeze", "Resize", "Loop", "Cast", "Identity"];

    static ModelProto Base(int k) => (k % 3) switch
    {
        0 => SafetyModels.Cnn(k),
        1 => SafetyModels.Backbone(k),
        _ => MiniModels.Vgg(k),
    };

    static long Wild(Random r) => r.Next(8) switch
    {
        0 => -1,
        1 => 0,
        2 => 1L << 40,
        3 => long.MaxValue,
        4 => long.MinValue,
        5 => int.MaxValue,
        6 => -r.Next(1, 100),
        _ => r.Next(1, 9),
    };

    static IEnumerable<TensorProto> Tensors(ModelProto m) => ExternalData.Tensors(m).Select(t => t.Tensor);

    static void Mutate(ModelProto m, Random r)
    {
        var g = m.Graph;
        var tensors = Tensors(m).ToList();
        var nodes = g.Node;
        switch (r.Next(16))
        {
            case 0 when tensors.Count > 0:
            {
                var t = tensors[r.Next(tensors.Count)];
                if (t.Dims.Count == 0) t.Dims.Add(Wild(r)); else t.Dims[r.Next(t.Dims.Count)] = Wild(r);
                break;
            }
            case 1 when tensors.Count > 0:
                tensors[r.Next(tensors.Count)].DataType = r.Next(0, 20);
                break;
            case 2 when tensors.Count > 0:
            {
                var t = tensors[r.Next(tensors.Count)];
                var bytes = t.RawData.ToByteArray();
                t.RawData = ByteString.CopyFrom(bytes.AsSpan(0, r.Next(0, bytes.Length + 1)).ToArray());
                break;
            }
            case 3 when tensors.Count > 0:
            {
                var t = tensors[r.Next(tensors.Count)];
                t.Dims.Clear();
                for (int i = r.Next(0, 6); i > 0; i--) t.Dims.Add(r.Next(0, 4));
                break;
            }
            case 4:
            {
                var n = nodes[r.Next(nodes.Count)];
                if (n.Attribute.Count == 0) break;
                var a = n.Attribute[r.Next(n.Attribute.Count)];
                if (a.Ints.Count > 0) a.Ints[r.Next(a.Ints.Count)] = Wild(r); else a.I = Wild(r);
                break;
            }
            case 5:
            {
                var n = nodes[r.Next(nodes.Count)];
                var a = new AttributeProto { Name = new[] { "group", "axis", "strides", "pads", "kernel_shape", "dilations", "perm", "transB", "epsilon" }[r.Next(9)] };
                if (r.Next(2) == 0) { a.Type = AttributeProto.Types.AttributeType.Int; a.I = Wild(r); }
                else { a.Type = AttributeProto.Types.AttributeType.Ints; for (int i = r.Next(0, 5); i > 0; i--) a.Ints.Add(Wild(r)); }
                n.Attribute.Add(a);
                break;
            }
            case 6:
                nodes[r.Next(nodes.Count)].OpType = Ops[r.Next(Ops.Length)];
                break;
            case 7:
            {
                var n = nodes[r.Next(nodes.Count)];
                if (n.Input.Count > 0) n.Input[r.Next(n.Input.Count)] = r.Next(2) == 0 ? "nowhere" : nodes[r.Next(nodes.Count)].Output[0];
                else n.Input.Add("nowhere");
                break;
            }
            case 8:
            {
                var n = nodes[r.Next(nodes.Count)];
                if (r.Next(2) == 0 && n.Input.Count > 0) n.Input.RemoveAt(r.Next(n.Input.Count)); else n.Input.Add(g.Input[0].Name);
                break;
            }
            case 9:
                m.OpsetImport[0].Version = r.Next(-2, 30);
                break;
            case 10:
                nodes[r.Next(nodes.Count)].Domain = r.Next(2) == 0 ? "custom" : "com.microsoft";
                break;
            case 11:
            {
                var dims = g.Input[0].Type.TensorType.Shape.Dim;
                if (r.Next(3) == 0 && dims.Count > 0) dims.RemoveAt(r.Next(dims.Count));
                else if (dims.Count > 0) { var d = dims[r.Next(dims.Count)]; d.DimValue = Wild(r); }
                break;
            }
            case 12 when nodes.Count > 1:
            {
                int i = r.Next(nodes.Count), j = r.Next(nodes.Count);
                (nodes[i], nodes[j]) = (nodes[j].Clone(), nodes[i].Clone());
                break;
            }
            case 13 when tensors.Count > 0:
                SafetyModels.External(tensors[r.Next(tensors.Count)], r.Next(2) == 0 ? "../x.bin" : "w.bin", r.Next(0, 100));
                break;
            case 14:
            {
                var n = nodes[r.Next(nodes.Count)];
                n.Output.Add(r.Next(2) == 0 ? n.Output[0] : g.Input[0].Name);
                break;
            }
            default:
                if (nodes.Count > 1) nodes.RemoveAt(r.Next(nodes.Count));
                break;
        }
    }

    static byte[] Case(int k, Random r)
    {
        var m = Base(k);
        for (int i = r.Next(1, 4); i > 0; i--) Mutate(m, r);
        var bytes = m.ToByteArray();
        if (k % 10 == 9) // byte-level damage
            for (int i = r.Next(1, 6); i > 0; i--) bytes[r.Next(bytes.Length)] = (byte)r.Next(256);
        return bytes;
    }

    /// <summary>What MLStyle does with a model before ONNX Runtime runs it.</summary>
    void Use(string path, string dir)
    {
        var model = OnnxModels.Load(path);
        var y = model.Graph.Output[0].Name;
        var x = OnnxModels.RealInputs(model).FirstOrDefault() ?? model.Graph.Initializer.FirstOrDefault()?.Name ?? "X";
        var grad = Differentiator.Differentiate(model, y, [x]);
        OnnxModels.Save(grad, Path.Combine(dir, "grad.onnx"));
        var backbone = BackboneFactory.Resolve(path);
        var layer = backbone.Layers[^1].Name;
        var spec = new StyleTransferEngine(backbone).Spec(new StyleTransferOptions { Size = 32, ContentLayers = [new(layer, 1)], StyleLayers = [new(layer, 1)] });
        MLStyle.Losses.StyleObjective.BuildTargetModel(spec);
        MLStyle.Losses.StyleObjective.BuildLossModel(spec, 32, 32, [[1, 8, 32, 32]]);
        GraphTransforms.NameDynamicDimensions(grad);
    }

    [Fact]
    public void MalformedModelsNeverCauseInternalErrorsOrHangs()
    {
        var rng = new Random(20261207);
        var internalErrors = new List<string>();
        int ok = 0, refused = 0;
        for (int k = 0; k < Cases; k++)
        {
            var bytes = Case(k, rng);
            var dir = Directory.CreateDirectory(Path.Combine(_dir.Path, $"case{k}")).FullName;
            var path = Path.Combine(dir, $"fuzz{k}.onnx");
            File.WriteAllBytes(path, bytes);
            var run = Task.Run(() => Use(path, dir));
            Task.WhenAny(run, Task.Delay(Bound)).Wait();
            if (!run.IsCompleted) { internalErrors.Add($"case {k}: still running after {Bound.TotalSeconds} s"); continue; }
            var e = run.Exception?.InnerException;
            if (e is null) ok++;
            else if (e is MLStyleException && !e.Message.Contains('\n')) refused++;
            else internalErrors.Add($"case {k}: {e.GetType().Name}: {e.Message.Split('\n')[0]} at {e.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("MLStyle.") && !l.Contains("Tests"))?.Trim()}");
        }
        output.WriteLine($"{Cases} cases: {ok} used, {refused} refused with one line, {internalErrors.Count} internal errors");
        Assert.True(internalErrors.Count == 0, string.Join("\n", internalErrors));
        Assert.True(refused > Cases / 3, $"only {refused} of {Cases} mutated models were refused: the mutations are too weak");
    }
}
