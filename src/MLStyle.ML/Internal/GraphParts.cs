using MLStyle.Backbones;
using MLStyle.Onnx;
using Onnx;

namespace MLStyle.ML.Internal;

/// <summary>
/// Builds an ONNX <c>Loop</c> in place: nodes added between <see cref="Begin"/> and <see cref="End"/> become the loop body.
/// The body may read any tensor computed before <see cref="Begin"/> and every initializer (outer scope, as the ONNX
/// specification allows), so large weights are stored once.
/// </summary>
internal sealed class LoopScope
{
    readonly GraphBuilder _b;
    readonly int _firstNode;
    readonly List<ValueInfoProto> _inputs = new();
    readonly long[][] _carriedDims;

    /// <summary>The iteration number (int64 scalar, from 0).</summary>
    public string Iteration { get; }

    /// <summary>The loop-carried tensors as seen by the body.</summary>
    public IReadOnlyList<string> Carried { get; }

    string Condition { get; }

    LoopScope(GraphBuilder b, string prefix, IReadOnlyList<long[]> carriedDims)
    {
        _b = b;
        _firstNode = b.Graph.Node.Count;
        _carriedDims = carriedDims.ToArray();
        Iteration = Declare(b.UniqueName(prefix + "iteration"), ElementType.Int64, Array.Empty<long>());
        Condition = Declare(b.UniqueName(prefix + "condition"), ElementType.Bool, Array.Empty<long>());
        Carried = carriedDims.Select((d, i) => Declare(b.UniqueName($"{prefix}state{i}"), ElementType.Float, d)).ToList();
    }

    string Declare(string name, int type, long[] dims)
    {
        _b.AddInput(name, type, dims);
        _inputs.Add(_b.Graph.Input[^1]);
        return name;
    }

    /// <summary>Starts a loop body with float loop-carried tensors of the given shapes.</summary>
    public static LoopScope Begin(GraphBuilder b, string prefix, params long[][] carriedDims) => new(b, prefix, carriedDims);

    /// <summary>
    /// Ends the body (its outputs: the new carried values, then per-iteration scalars that the loop stacks) and appends the
    /// Loop node running <paramref name="iterations"/> times from <paramref name="initial"/>. Returns the final carried values
    /// followed by the stacked scalars (shape [iterations]).
    /// </summary>
    public string[] End(int iterations, IReadOnlyList<string> initial, IReadOnlyList<string> carriedOut, IReadOnlyList<string> scanScalars, string hint)
    {
        if (initial.Count != Carried.Count || carriedOut.Count != Carried.Count) throw new ArgumentException("carried tensor count mismatch");
        var g = _b.Graph;
        var body = new GraphProto { Name = _b.UniqueName(hint + "_body") };
        var nodes = g.Node.Skip(_firstNode).ToList();
        while (g.Node.Count > _firstNode) g.Node.RemoveAt(g.Node.Count - 1);
        var condOut = new NodeProto { OpType = "Identity", Name = _b.UniqueName(hint + "_condition") };
        condOut.Input.Add(Condition);
        condOut.Output.Add(_b.UniqueName(hint + "_condition_out"));
        nodes.Add(condOut);
        // Body outputs must be produced in the body: pass-through values get an Identity.
        var produced = nodes.SelectMany(n => n.Output).ToHashSet();
        string Local(string t)
        {
            if (produced.Contains(t)) return t;
            var id = new NodeProto { OpType = "Identity", Name = _b.UniqueName(hint + "_pass") };
            id.Input.Add(t);
            id.Output.Add(_b.UniqueName(t + "_out"));
            nodes.Add(id);
            produced.Add(id.Output[0]);
            return id.Output[0];
        }
        body.Node.AddRange(nodes);
        foreach (var i in _inputs) { g.Input.Remove(i); body.Input.Add(i); }
        body.Output.Add(GraphBuilder.MakeValueInfo(condOut.Output[0], ElementType.Bool, Array.Empty<long>(), null));
        for (int i = 0; i < carriedOut.Count; i++)
            body.Output.Add(GraphBuilder.MakeValueInfo(Local(carriedOut[i]), ElementType.Float, _carriedDims[i], null));
        foreach (var s in scanScalars)
            body.Output.Add(GraphBuilder.MakeValueInfo(Local(s), ElementType.Float, Array.Empty<long>(), null));

        var trip = _b.Initializer(TensorProtos.FromInt64s("", new long[] { iterations }), hint + "_iterations");
        var cond = new TensorProto { DataType = ElementType.Bool };
        cond.Int32Data.Add(1);
        var condInit = _b.Initializer(cond, hint + "_run");
        var outs = _b.NodeMulti("Loop", new[] { trip, condInit }.Concat(initial), Carried.Count + scanScalars.Count, hint, ("body", body));
        for (int i = 0; i < Carried.Count; i++) _b.SetInfo(outs[i], TensorInfo.Float(_carriedDims[i]));
        for (int i = 0; i < scanScalars.Count; i++) _b.SetInfo(outs[Carried.Count + i], TensorInfo.Float(iterations));
        return outs;
    }
}

/// <summary>Small graph fragments shared by the components.</summary>
internal static class GraphOps
{
    /// <summary>Clip to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static string Clip(GraphBuilder b, string x, float min = 0f, float max = 255f)
    {
        var y = b.Node("Clip", new[] { x, b.Scalar(min), b.Scalar(max) });
        if (b.Info(x) is { } i) b.SetInfo(y, i);
        return y;
    }

    /// <summary>Gathers the upper triangle (row ≤ column, row-major) of flattened C×C matrices <c>[C·C]</c>.</summary>
    public static string UpperTriangle(GraphBuilder b, string flat, long channels)
    {
        var idx = new List<long>();
        for (long r = 0; r < channels; r++)
            for (long c = r; c < channels; c++) idx.Add(r * channels + c);
        var indices = b.Initializer(TensorProtos.FromInt64s("", idx.ToArray(), idx.Count), "upper_triangle");
        var y = b.Node("Gather", new[] { flat, indices }, null, ("axis", 0L));
        b.SetInfo(y, TensorInfo.Float(idx.Count));
        return y;
    }

    /// <summary>x / ‖x‖₂ (with ε = 1e-12 so a zero vector stays zero), times <paramref name="scale"/>.</summary>
    public static string L2Normalize(GraphBuilder b, string x, float scale = 1f)
    {
        var norm = b.Sqrt(b.Add(b.ReduceSum(b.Square(x), null, keepdims: false), b.Scalar(1e-12f)));
        var y = b.Mul(b.Div(x, norm), scale);
        if (b.Info(x) is { } i) b.SetInfo(y, i);
        return y;
    }
}
