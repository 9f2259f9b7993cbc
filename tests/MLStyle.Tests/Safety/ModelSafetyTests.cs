#nullable enable
using System.Runtime.InteropServices;
using Google.Protobuf;
using MLStyle.Onnx;
using MLStyle.Tests.Cli;
using MLStyle.Tests.Support;
using Onnx;

namespace MLStyle.Tests.Safety;

/// <summary>
/// Models: external data is read only from the model's own folder, wherever the model stores a tensor; a malformed model
/// fails in one line (exit 2) before anything uses it; grad never writes an invalid graph.
/// </summary>
public sealed class ModelSafetyTests : IDisposable
{
    readonly TestImages.TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    string P(string rel) => Path.Combine(_dir.Path, rel);

    static readonly float[] Secret = [1.5f, -2.25f, 3.125f, 4f];

    /// <summary>Models whose only external tensor is at <c>location</c>, stored in each place a model can hold a tensor.</summary>
    static IEnumerable<(string Where, ModelProto Model)> WithExternal(string location)
    {
        TensorProto T() => SafetyModels.External(TensorProtos.FromFloats("k", Secret, 4), location);

        var init = SafetyModels.Cnn();
        init.Graph.Initializer.Add(T());
        yield return ("initializer", init);

        var sparse = SafetyModels.Cnn();
        var indices = TensorProtos.FromInt64s("k_idx", [0, 1, 2, 3], 4);
        sparse.Graph.SparseInitializer.Add(new SparseTensorProto { Values = T(), Indices = indices, Dims = { 4 } });
        yield return ("sparse initializer", sparse);

        var constant = SafetyModels.Cnn();
        var node = new NodeProto { OpType = "Constant", Name = "c", Output = { "k_const" } };
        node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = T() });
        constant.Graph.Node.Insert(0, node);
        yield return ("Constant node", constant);

        // A Loop whose body holds a Constant with external data.
        var loop = SafetyModels.Cnn();
        var body = new GraphProto { Name = "body" };
        body.Input.Add(GraphBuilder.MakeValueInfo("i", ElementType.Int64, [], null));
        body.Input.Add(GraphBuilder.MakeValueInfo("cond", ElementType.Bool, [], null));
        body.Output.Add(GraphBuilder.MakeValueInfo("cond_out", ElementType.Bool, [], null));
        body.Output.Add(GraphBuilder.MakeValueInfo("k_scan", ElementType.Float, [4], null));
        body.Node.Add(new NodeProto { OpType = "Identity", Input = { "cond" }, Output = { "cond_out" } });
        var inner = new NodeProto { OpType = "Constant", Output = { "k_scan" } };
        inner.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = T() });
        body.Node.Add(inner);
        loop.Graph.Initializer.Add(TensorProtos.FromInt64s("trip", [1]));
        loop.Graph.Initializer.Add(new TensorProto { Name = "go", DataType = ElementType.Bool, Int32Data = { 1 } });
        var loopNode = new NodeProto { OpType = "Loop", Name = "loop", Input = { "trip", "go" }, Output = { "k_loop" } };
        loopNode.Attribute.Add(new AttributeProto { Name = "body", Type = AttributeProto.Types.AttributeType.Graph, G = body });
        loop.Graph.Node.Add(loopNode);
        yield return ("Loop body", loop);
    }

    [Fact]
    public void ExternalDataOutsideTheModelsFolderIsNeverReadWhereverTheTensorIs()
    {
        Directory.CreateDirectory(P("model"));
        File.WriteAllBytes(P("secret.bin"), MemoryMarshal.AsBytes(Secret.AsSpan()).ToArray());
        File.CreateSymbolicLink(P("model/inside-link.bin"), P("secret.bin"));
        var before = FileTree.Snapshot(_dir.Path);
        foreach (var location in new[] { "../secret.bin", P("secret.bin"), "inside-link.bin", "../missing.bin", "sub/../../secret.bin" })
        {
            string? message = null;
            foreach (var (where, model) in WithExternal(location))
            {
                var path = SafetyModels.Save(model, P("model/m.onnx"));
                var e = Assert.Throws<ModelException>(() => OnnxModels.Load(path));
                Assert.Contains("external data is read only from regular files inside the model's own folder", e.Message);
                Assert.DoesNotContain("\n", e.Message);
                // The message is the same whether or not the file exists: it reveals nothing about the file system.
                var generic = e.Message.Replace(location, "LOC");
                Assert.DoesNotContain("exist", generic);
                message ??= generic;

                var r = CliRunner.Run("grad", "--model", path, "--of", "Y", "--wrt", "X", "--output", P("g.onnx"));
                r.AssertOneError(2, "external data");
                Assert.True(where != "Loop body" || e.Message.Contains("subgraph"), e.Message);
            }
        }
        FileTree.AssertUnchanged(before, _dir.Path);
        Assert.False(File.Exists(P("g.onnx")));
    }

    [Fact]
    public void ExternalDataInsideTheModelsFolderIsCopiedIntoTheModel()
    {
        Directory.CreateDirectory(P("model/data"));
        var bytes = MemoryMarshal.AsBytes(Secret.AsSpan()).ToArray();
        File.WriteAllBytes(P("model/data/k.bin"), [9, 9, .. bytes]);
        foreach (var (where, model) in WithExternal("data/k.bin"))
        {
            foreach (var t in ExternalData.Tensors(model).Select(x => x.Tensor).Where(t => t.ExternalData.Count > 0))
                t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "2" });
            var loaded = OnnxModels.Load(SafetyModels.Save(model, P("model/m.onnx")));
            var tensors = ExternalData.Tensors(loaded).Select(x => x.Tensor).Where(t => t.Name == "k").ToList();
            Assert.True(tensors.Count == 1, where);
            Assert.Equal(TensorProto.Types.DataLocation.Default, tensors[0].DataLocation);
            Assert.Empty(tensors[0].ExternalData);
            Assert.Equal(Secret, TensorProtos.ToFloats(tensors[0]));
        }
        // Beyond the end of the file: refused like the rest.
        var (_, tooLong) = WithExternal("data/k.bin").First();
        tooLong.Graph.Initializer.Single(t => t.Name == "k").ExternalData.Single(e => e.Key == "length").Value = "4096";
        Assert.Throws<ModelException>(() => OnnxModels.Load(SafetyModels.Save(tooLong, P("model/m.onnx"))));
        // Bytes without a folder: no external data at all.
        Assert.Throws<ModelException>(() => OnnxModels.Parse(WithExternal("data/k.bin").First().Model.ToByteArray()));
    }

    /// <summary>Each malformed model class, and the fragment its one-line error names.</summary>
    public static IEnumerable<object[]> Malformed()
    {
        ModelProto M(Action<ModelProto> edit) { var m = SafetyModels.Cnn(); edit(m); return m; }
        yield return ["cycle", M(m => { m.Graph.Node[0].Input[0] = "Y"; }), "no earlier node"];
        yield return ["conv on 2-D", M(m => { m.Graph.Input[0].Type.TensorType.Shape.Dim.RemoveAt(3); m.Graph.Input[0].Type.TensorType.Shape.Dim.RemoveAt(2); }), "rank 2"];
        yield return ["custom-domain Relu", M(m => { m.Graph.Node[1].Domain = "custom"; m.OpsetImport.Add(new OperatorSetIdProto { Domain = "custom", Version = 1 }); }), "domain 'custom'"];
        yield return ["opset 99", M(m => m.OpsetImport[0].Version = 99), "opset 99"];
        yield return ["group 0", M(m => m.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "group", Type = AttributeProto.Types.AttributeType.Int, I = 0 })), "group 0"];
        yield return ["short raw data", M(m => m.Graph.Initializer[0].RawData = ByteString.CopyFrom(new byte[10])), "bytes of data"];
        yield return ["huge dims", M(m => { m.Graph.Initializer[0].Dims[0] = 1L << 40; }), "bytes of data"];
        yield return ["overflowing dims", M(m => { m.Graph.Initializer[0].Dims[0] = long.MaxValue / 2; m.Graph.Initializer[0].Dims[1] = 16; }), "overflows"];
        yield return ["negative dims", M(m => m.Graph.Initializer[0].Dims[0] = -4), "negative dimension"];
        yield return ["unknown type", M(m => m.Graph.Initializer[0].DataType = 77), "element type 77"];
        yield return ["strides 0", M(m => m.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "strides", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0, 1 } })), "strides"];
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void AMalformedModelFailsInOneLineBeforeUse(string what, ModelProto model, string fragment)
    {
        var path = SafetyModels.Save(model, P("bad.onnx"));
        var before = FileTree.Snapshot(_dir.Path);
        var r = CliRunner.Run("grad", "--model", path, "--of", "Y", "--wrt", "X", "--output", P("g.onnx"));
        Assert.True(r.ExitCode == 2, $"{what}: exit {r.ExitCode}: {r.Stderr}");
        r.AssertOneError(2, fragment);
        FileTree.AssertUnchanged(before, _dir.Path);
        Assert.False(File.Exists(P("g.onnx")), what);
    }

    [Fact]
    public void GradRefusesNonFloatTensorsAndWritesOnlyValidGraphs()
    {
        var b = GraphBuilder.Create("ints");
        b.AddInput("X", ElementType.Float, [1, 4]);
        b.AddInput("N", ElementType.Int64, [1, 4]);
        var c = b.Node("Cast", ["N"], "nf", ("to", (long)ElementType.Float));
        var y = b.Node("Mul", ["X", c], "Y");
        b.AddOutput(y);
        var path = SafetyModels.Save(b.Model, P("ints.onnx"));
        CliRunner.Run("grad", "--model", path, "--of", "Y", "--wrt", "N", "--output", P("g.onnx")).AssertOneError(2, "not floating point");
        Assert.False(File.Exists(P("g.onnx")));

        var ok = CliRunner.Run("grad", "--model", SafetyModels.Save(SafetyModels.Cnn(), P("m.onnx")), "--of", "Y", "--wrt", "X,W", "--output", P("g.onnx"));
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        var grad = OnnxModels.Load(P("g.onnx")); // validates: a DAG, standard domain, opset 17
        Assert.Equal(OnnxModels.TargetOpset, OnnxModels.Opset(grad));
    }

    [Fact]
    public void OnnxRuntimesOwnLogLinesNeverPrecedeTheError()
    {
        // Valid for MLStyle's checks, rejected by ONNX Runtime: the weight has 5 input channels, the image 3.
        var b = GraphBuilder.Create("mismatch");
        b.AddInput("data", ElementType.Float, [1, 3, -1, -1], ["", "", "H", "W"]);
        var w = b.Initializer(TensorProtos.FromFloats("w", new float[4 * 5 * 9], 4, 5, 3, 3), "w");
        var c = b.Node("Conv", ["data", w], "conv1", ("kernel_shape", new long[] { 3, 3 }));
        b.AddOutput(b.Node("Relu", [c], "relu1"));
        var model = SafetyModels.Save(b.Model, P("mismatch.onnx"));
        var image = Batch.Corpus.Write(_dir.Path, "a.png", Batch.Corpus.Photo(16, 16, 1));
        // A separate process: ONNX Runtime's native logger writes to the real stderr.
        var r = CliRunner.RunProcess("stylize", "--model", model, "--content", image, "--style", image, "--output", P("o.png"),
            "--size", "16", "--iterations", "1", "--style-layers", "conv1", "--content-layers", "conv1");
        Assert.True(r.ExitCode == 2, r.Stderr);
        r.AssertNoStackTrace();
        // Only MLStyle's own lines: the "stylizing" line, then one error line; no "[E:onnxruntime:…]" log line before it.
        Assert.DoesNotContain("[E:onnxruntime", r.Stderr);
        Assert.DoesNotContain("[W:onnxruntime", r.Stderr);
        Assert.Single(r.ErrorLines, l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.StartsWith("error: ", r.ErrorLines[^1]);
        Assert.All(r.ErrorLines.SkipLast(1), l => Assert.StartsWith("stylizing ", l));
    }
}
